"""The fast line reader accepts no line its model refuses, and reads the same values."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from membergraph.connectors.fastlines import FastLineError, fast_decoder
from membergraph.connectors.sources import SOURCES

VALID: dict[str, dict[str, Any]] = {
    "crm": {
        "contact_id": "C1",
        "first_name": "Ann",
        "last_name": "Lee",
        "emails": ["ann@example.org"],
        "phones": ["+1 415 555 0100"],
        "loyalty_id": "LD12345678",
        "birth_date": "1980-02-03",
        "address": {"line1": "1 Main St", "city": "X", "postal_code": "94100", "country": "US"},
        "consents": {"email": True, "sms": False},
        "updated_at": "2026-01-01T00:00:00Z",
    },
    "transactions": {
        "transaction_id": "T1",
        "loyalty_id": "LD12345678",
        "channel": "store",
        "occurred_at": "2026-01-01T10:00:00Z",
        "amount_cents": 1200,
        "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 600}],
    },
    "web_analytics": {
        "event_id": "E1",
        "anonymous_id": "a-1",
        "type": "page",
        "occurred_at": "2026-01-01T10:00:00+02:00",
        "properties": {"path": "/"},
    },
    "call_center": {
        "interaction_id": "I1",
        "caller_phone": "4155550100",
        "account_ref": {"kind": "loyalty_id", "value": "LD12345678"},
        "started_at": "2026-01-01T10:00:00Z",
        "sentiment": -0.5,
    },
}

# Where JSON readers differ: timestamps, whitespace, numbers in strings, and so on.
TRICKY = [
    "2026-01-01T10:00:00",
    "2026-01-01t10:00:00z",
    "2026-01-01 10:00:00Z",
    "2026-01-01T10:00Z",
    "2026-01-01T10:00:00,5Z",
    "2026-01-01T10:00:00.1234567Z",
    "2026-01-01T23:59:60Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T10:00:00+0000",
    "2026-01-01T10:00:00+00",
    "2026-01-01T10:00:00-00:00",
    "2026-01-01T10:00:00+23:59",
    "2026-02-30T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-01-01",
    "2026-01-01T00:00:00",
    "20260101",
    "1704103200",
    "12",
    "1.5",
    "true",
    "yes",
    "",
    " ",
    "\u00a0",
    " C1 ",
    "\u2003C1\u00a0",
    "\tC1\n",
    "store",
    "online",
    "loyalty_id",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(TRICKY)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@st.composite
def lines(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid line of some source, with some fields changed, removed or added."""
    source = draw(st.sampled_from(sorted(VALID)))
    line = json.loads(json.dumps(VALID[source]))
    fields = sorted(SOURCES[source].model.model_fields)  # type: ignore[index]
    for name in draw(st.lists(st.sampled_from(fields), max_size=3)):
        target = line
        if isinstance(line.get(name), dict) and draw(st.booleans()):
            target = line[name]  # a nested field: address, consents, account_ref
            name = draw(st.sampled_from(sorted(target) or ["value"]))
        if draw(st.integers(0, 5)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(json_values)
    if draw(st.booleans()):
        line[draw(st.text(max_size=5))] = draw(json_values)  # unknown fields are kept unread
    return source, json.dumps(line, ensure_ascii=draw(st.booleans())).encode()


def _same(fast: Any, model: Any) -> bool:
    """The same values, field by field; timestamps to the microsecond (msgspec rounds the
    7th digit, pydantic cuts it)."""
    if isinstance(model, BaseModel):
        return all(
            _same(getattr(fast, name), getattr(model, name)) for name in type(model).model_fields
        )
    if isinstance(model, list):
        return len(fast) == len(model) and all(map(_same, fast, model))
    if isinstance(model, datetime):
        return (
            isinstance(fast, datetime)
            and fast.utcoffset() == model.utcoffset()
            and abs((fast - model).total_seconds()) <= 1e-6
        )
    return type(fast) is type(model) and fast == model


@given(lines())
def test_a_line_the_fast_reader_accepts_the_model_accepts_with_the_same_values(
    case: tuple[str, bytes],
) -> None:
    source, raw = case
    model = SOURCES[source].model  # type: ignore[index]
    try:
        fast = fast_decoder(model)(raw)
    except FastLineError:
        return  # the model decides: batch.py asks it next
    assert _same(fast, model.model_validate_json(raw))


@pytest.mark.parametrize(
    ("source", "change"),
    [
        ("transactions", {"transaction_id": "   "}),
        ("transactions", {"transaction_id": "\u2003"}),
        ("transactions", {"channel": "Store"}),
        ("transactions", {"amount_cents": None}),
        ("transactions", {"items": [{"quantity": 1}]}),
        ("web_analytics", {"anonymous_id": ""}),
        ("web_analytics", {"occurred_at": "2026-13-01T00:00:00Z"}),
        ("call_center", {"sentiment": 1.5}),
        ("call_center", {"account_ref": {"kind": "phone", "value": "1"}}),
        ("crm", {"birth_date": "1980-02-30"}),
        ("crm", {"emails": "ann@example.org"}),
    ],
)
def test_lines_the_model_refuses_the_fast_reader_refuses(
    source: str, change: dict[str, Any]
) -> None:
    raw = json.dumps({**VALID[source], **change}).encode()
    model = SOURCES[source].model  # type: ignore[index]
    with pytest.raises(ValidationError):
        model.model_validate_json(raw)
    with pytest.raises(FastLineError):
        fast_decoder(model)(raw)


@pytest.mark.parametrize(
    "raw",
    [
        # A field given twice: both readers keep the last.
        b'{"transaction_id": "T1", "transaction_id": "T2", "channel": "store",'
        b' "occurred_at": "2026-01-01T00:00:00Z", "amount_cents": 1}',
        # A line ending the Windows way.
        b'{"event_id": "E1", "anonymous_id": "a", "type": "page",'
        b' "occurred_at": "2026-01-01T00:00:00Z"}\r',
    ],
)
def test_edge_lines_are_read_as_the_model_reads_them(raw: bytes) -> None:
    model = SOURCES["web_analytics" if b"event_id" in raw else "transactions"].model  # type: ignore[index]
    assert _same(fast_decoder(model)(raw), model.model_validate_json(raw))


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(123456789012345678901234567890, id="beyond-64-bits"),
        pytest.param(2**31, id="beyond-graphql-int"),
        pytest.param(-(2**31), id="below-graphql-int"),
    ],
)
def test_a_number_beyond_what_graphql_carries_is_refused_by_both_readers(amount: int) -> None:
    raw = json.dumps({**VALID["transactions"], "amount_cents": amount}).encode()
    model = SOURCES["transactions"].model  # type: ignore[index]
    with pytest.raises(ValidationError, match="amount_cents"):
        model.model_validate_json(raw)
    with pytest.raises(FastLineError):
        fast_decoder(model)(raw)


def test_a_line_id_is_read_without_its_surrounding_spaces_as_the_model_reads_it() -> None:
    raw = json.dumps({**VALID["transactions"], "transaction_id": "\u00a0T7 "}).encode()
    line = fast_decoder(SOURCES["transactions"].model)(raw)  # type: ignore[index]
    assert line.transaction_id == "T7"
    assert line.occurred_at.tzinfo is not None  # naive or not, timestamps are UTC-aware


def test_the_demo_data_needs_no_second_reading(demo_source: Path) -> None:
    # The speed of `membergraph resolve` rests on this: every line the demo generator
    # writes (the benchmark's data) is read by the fast reader, none by the model again.
    for spec in SOURCES.values():
        decode = fast_decoder(spec.model)
        raws = (demo_source / spec.file_name).read_bytes().splitlines()
        assert raws
        for raw in raws:
            decode(raw)


def _mark(value: str | None) -> str:
    return f"<{value}>"


class _Validated(BaseModel):
    inner: Annotated[str, AfterValidator(_mark)] | None = None  # runs on a string only
    both: Annotated[Annotated[str, AfterValidator(_mark)] | None, AfterValidator(_mark)]


@pytest.mark.parametrize(
    "raw", [b'{"both": null}', b'{"inner": null, "both": "b"}', b'{"inner": "a", "both": "b"}']
)
def test_after_validators_run_where_and_in_the_order_pydantic_runs_them(raw: bytes) -> None:
    model = _Validated.model_validate_json(raw)
    assert _same(fast_decoder(_Validated)(raw), model)


class _Checked(BaseModel):
    value: str

    @field_validator("value")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _Aliased(BaseModel):
    value: str = Field(alias="Value")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)
    value: int


class _ValidatedDefault(BaseModel):
    value: Annotated[str | None, AfterValidator(_mark)] = None  # pydantic skips a default


class _Tuple(BaseModel):
    value: tuple[int, int]


# A checked field whose name is a Python keyword: the fast reader writes its checks as code.
_Keyword = create_model("_Keyword", **{"from": (Annotated[str, AfterValidator(_mark)], ...)})


@pytest.mark.parametrize(
    "model", [_Checked, _Aliased, _Strict, _ValidatedDefault, _Tuple, _Keyword]
)
def test_a_model_feature_without_an_exact_fast_copy_is_refused_not_guessed(
    model: type[BaseModel],
) -> None:
    with pytest.raises(NotImplementedError, match="no fast copy"):
        fast_decoder(model)
