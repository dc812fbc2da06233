"""``GET /export/members.parquet``: the export's rows as Parquet, streamed.

One row group per page of members (:func:`membergraph.export.member_pages`): the writer's
bytes are handed to the client after each page, the footer last, so memory stays one page
whatever the size. A whole export's footer says so (:data:`COMPLETE`, :data:`MEMBERS`).
Needs ``pyarrow`` (``pip install 'membergraph[export]'``); without it
the endpoint answers 501 saying so.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

__all__ = ["COMPLETE", "MEMBERS", "parquet_chunks", "pyarrow_missing"]

COMPLETE = "membergraph.complete"
"""The footer's key-value metadata of a whole export: ``"true"``."""
MEMBERS = "membergraph.members"
"""The footer's count of members exported."""


def pyarrow_missing() -> str | None:
    """Why Parquet cannot be written here, or None."""
    if importlib.util.find_spec("pyarrow") is None:
        return "Parquet needs pyarrow: pip install 'membergraph[export]'"
    return None


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken out as they come."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _schema() -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    words = pa.list_(pa.string())
    return pa.schema(
        [
            ("member_id", pa.string()),
            ("email", pa.string()),
            ("phone", pa.string()),
            ("tier", pa.string()),
            ("lifetime_spend_cents", pa.int64()),
            ("spend_12m_cents", pa.int64()),
            ("points_balance", pa.int64()),
            ("last_purchase_at", pa.timestamp("us", tz="UTC")),
            ("recency", pa.int8()),
            ("frequency", pa.int8()),
            ("monetary", pa.int8()),
            ("engagement", pa.int8()),
            ("segments", words),
            ("reachable", words),
        ]
    )


def _columns(rows: list[list[object]]) -> list[list[object]]:
    """The CSV-shaped rows (:data:`membergraph.export.COLUMNS`) as typed columns."""
    columns: list[list[object]] = [list(c) for c in zip(*rows, strict=True)] if rows else []
    if not columns:
        return [[] for _ in range(14)]
    columns[1] = [v or None for v in columns[1]]
    columns[2] = [v or None for v in columns[2]]
    columns[7] = [datetime.fromisoformat(str(v)) if v else None for v in columns[7]]
    columns[12] = [str(v).split() for v in columns[12]]
    columns[13] = [str(v).split() for v in columns[13]]
    return columns


async def parquet_chunks(
    pages: AsyncIterator[list[list[object]]],
) -> AsyncGenerator[bytes, None]:
    """The rows as one Parquet file: a row group per page, sent as written."""
    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = _schema()
    sink = _Drain()
    writer = pq.ParquetWriter(sink, schema)
    members = 0
    try:
        async for rows in pages:
            writer.write_table(pa.Table.from_arrays(_columns(rows), schema=schema))
            members += len(rows)
            yield sink.take()
        # Only a file read to its end says so (a failure raises before: no footer is sent,
        # and a Parquet file without its footer cannot be opened at all).
        writer.add_key_value_metadata({COMPLETE: "true", MEMBERS: str(members)})
    finally:
        writer.close()
    yield sink.take()
