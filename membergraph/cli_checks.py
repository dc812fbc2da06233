"""What the command line checks before it works: the paths named on it.

A typo in ``--store`` or ``--out`` stops a command at once, naming the path, exit code 2:
no command creates a folder it was not asked for, and none that reads a store (``export``,
``privacy``) creates one where a mistyped path points (and fills it with the demo set).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from membergraph.connectors.sources import SOURCES

if TYPE_CHECKING:
    from membergraph.identity.store.format import StoreMark

__all__ = [
    "refuse",
    "require_free_port",
    "require_no_older_writer",
    "require_out_apart",
    "require_out_file",
    "require_out_folder",
    "require_same_format",
    "require_store",
    "require_writable_store",
    "sqlite_file",
]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


def refuse(message: str) -> NoReturn:
    """Say what is wrong with the command line and stop with exit code 2."""
    err.print(f"error: {message}")
    raise typer.Exit(2)


def require_free_port(host: str, port: int) -> None:
    """Exit 2 when the address cannot be listened on, before loading anything: the server
    would load, announce its URL (which another server answers) and only then fail to bind."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return  # uvicorn names an address it cannot resolve
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            refuse(f"{host}:{port} {_unbound(exc)}")


def _unbound(exc: OSError) -> str:
    """Why an address cannot be listened on, and what to change: the port, or the host."""
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot be listened on ({exc.strerror}): the host is no address of this "
            "machine; pick one of its addresses with --host or MEMBERGRAPH_HOST"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot be listened on ({exc.strerror}): a port below 1024 needs privileges; "
            "pick another port with --port or MEMBERGRAPH_PORT"
        )
    return (
        f"is in use ({exc.strerror}): another server listens there; pick another port with "
        "--port or MEMBERGRAPH_PORT"
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` store URL (None: another kind, or in memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return None if path == ":memory:" else Path(path)


def require_out_folder(option: str, path: Path) -> None:
    """Refuse an output file whose folder does not exist."""
    if not path.parent.is_dir():
        refuse(f"{option} {path}: no folder {path.parent}")


def require_out_file(option: str, out: Path) -> None:
    """Refuse an output that exists and is no regular file: the answer is written beside it
    and renamed over it, so a folder stops the command after the whole run, and a device or
    a pipe (``/dev/stdout``, ``/dev/null``) would be replaced by a file where the folder lets
    the user write (``/dev`` for root)."""
    if out.exists() and not out.is_file():
        kind = "a folder" if out.is_dir() else "a device, a pipe or a socket"
        refuse(
            f"{option} {out} is {kind}, not a file: the answer is written beside it and renamed"
            " over it; name a file"
        )


def require_out_apart(option: str, out: Path, store_url: str, data: Path | None) -> None:
    """Refuse an output file that is the SQLite store itself (or its journal) or a file of
    the ``data`` folder: the answer, written in place when done, would replace every member,
    steward decision and suppression, or a source file (a typo, and exit 0)."""
    target = out.resolve()
    store = sqlite_file(store_url)
    if store is not None:
        held = store.resolve()
        if target in {held, *(held.with_name(held.name + end) for end in _BESIDE)}:
            refuse(
                f"{option} {out} is the store itself ({store_url}): the answer would replace"
                " every member, steward decision and suppression it holds; name another file"
            )
    if data is not None and target.parent == data.resolve() and target.name in _FOLDER_FILES:
        refuse(f"{option} {out} is a file of the data folder {data}: it would be replaced")


_FOLDER_FILES = frozenset({*(spec.file_name for spec in SOURCES.values()), "truth.jsonl"})


_BESIDE = ("-wal", "-shm", "-journal", "-push.lock")


def require_store(url: str, existing: bool = False, option: str = "--store") -> None:
    """Refuse a SQLite store whose folder does not exist, or (``existing``: a command that
    reads a store) whose file does not exist, naming the ``option`` it was given by."""
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.is_dir():
        refuse(f"{option} {url}: no folder {path.parent}")
    if path.is_dir():
        refuse(f"{option} {url}: {path} is a folder; name a file in it ({path / 'membergraph.db'})")
    if existing and not path.is_file():
        refuse(f"{option} {url}: no store at {path}; `membergraph load` or `serve` creates one")
    if not path.exists():
        try:  # the store is made there, with its -wal and -shm files beside it
            with tempfile.TemporaryFile(dir=path.parent, prefix=".membergraph-probe-"):
                pass
        except OSError as exc:
            refuse(
                f"{option} {url}: a new store cannot be made in {path.parent} ({exc.strerror}); "
                "give a file in a writable folder"
            )


def require_same_format(url: str) -> None:
    """Exit 1 with the start's one line when the SQLite store at ``url`` is of another
    release's format, read without writing (``mode=ro``): a command that refuses such a
    store (``load``, ``resolve``, ``export``, ``privacy``, ``sync``) says so before it opens
    the store's source table or privacy tables, which would add this release's tables,
    triggers and indexes to it (``membergraph reresolve`` adds them as it brings it up)."""
    from membergraph.identity.store.format import refusal

    found = _file_apart(url)
    if found is not None:
        err.print(f"error: {refusal(found[0], url)}", soft_wrap=True)
        raise typer.Exit(1)


def require_no_older_writer(url: str) -> None:
    """Exit 1 naming them when the SQLite store at ``url`` is of an older format and other
    processes hold it open: ``reresolve`` would mark it current while they go on writing
    (this release refuses to serve an older store, so a gateway serving it is an older
    release's, writing records keyed the old way: served as current after, wrong unseen)."""
    from membergraph.identity.store.format import STORE_FORMAT, reresolve_command
    from membergraph.store_holders import held, holders

    found = _file_apart(url)
    path = sqlite_file(url)
    if found is None or path is None or not found[1] or not held(path):
        return
    have = 0 if found[0] is None else found[0].format
    named = holders(path)
    who = f": {'; '.join(named)}" if named else ""
    err.print(
        f"error: store format {have} is older than this release's format {STORE_FORMAT} and"
        f" is open in other processes{who}. A gateway serving it is an older release's: it"
        " would go on writing records keyed the old way into the store this brings up, which"
        " would then be called current. Stop every gateway, worker and command over it (a"
        f" `membergraph backup` first), then run `{reresolve_command(url)}` (--dry-run may run"
        " meanwhile)",
        soft_wrap=True,
    )
    raise typer.Exit(1)


def _file_apart(url: str) -> tuple[StoreMark | None, bool] | None:
    """The mark of the SQLite store at ``url`` and whether it is older (True) or newer
    (False) than this release's format, read without writing (``mode=ro``); None: of this
    format, new, or no SQLite store. A mark that is no number exits 1, said."""
    from membergraph.identity.store.format import StoreFormatError, Verdict, apart, read_mark

    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        ) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "records" not in tables:  # a new file, or no store yet: nothing to tell
                return None
            holds = bool(db.execute("SELECT EXISTS (SELECT 1 FROM records)").fetchone()[0])
            value = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                value = None if row is None else row[0]
    except sqlite3.Error:
        return None  # (not a store this can read: the command's own open says why)
    try:
        found = None if value is None else read_mark(value, "")
    except StoreFormatError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    verdict = apart(found, holds)
    return None if verdict is None else (found, verdict is Verdict.OLDER)


_CANNOT_WRITE = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM}


def require_writable_store(path: Path) -> None:
    """Exit 1 with one line when an existing store file cannot be written (a read-only file
    system or file, a folder where SQLite cannot add its ``-wal`` and ``-shm`` files): a
    gateway writes there from its first moment, and would fail within its server's start
    with a stack trace. A store busy with another writer is not refused here."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=1, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:  # a write SQLite refuses at once when it cannot make it; never committed
                db.execute("CREATE TABLE membergraph_write_probe (x)")
            finally:
                db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _CANNOT_WRITE:
            return
        err.print(
            f"error: the store {path} cannot be written ({exc}): a gateway writes "
            "every push, steward change and erasure there; give it a writable file in a "
            "writable folder (SQLite adds -wal and -shm files beside it)",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
