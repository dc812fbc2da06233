"""``membergraph backup`` and ``membergraph restore``: copies of a SQLite store that are
whole, and a restore that cannot be mixed with the log of the file it replaces.

A SQLite store in WAL mode is two files: the store and its ``-wal``, which holds every change
since the last checkpoint. A ``cp`` of the store alone while a gateway runs misses them (and
may catch a checkpoint half-written); a backup copied over a store whose ``-wal`` is still
beside it (a gateway killed, then the backup put in place) is read *with that log*: SQLite
applies the other file's pages to it, and the store is malformed, while the gateway started
over it answers ready. So a backup is taken through SQLite (its backup API: one consistent
snapshot, the log's changes included, while gateways go on writing), and a restore refuses
while any process holds the store, checks the copy, sets the replaced store aside with its
log (the changes made since the backup are there), and puts the copy in place alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from membergraph.cli_checks import refuse, require_out_apart, require_out_folder, sqlite_file
from membergraph.cli_options import command_settings, setting_help
from membergraph.identity.store.format import StoreFormatError, StoreMark, apart, read_mark, refusal
from membergraph.identity.store.sqlite_feed import carry_feed_on
from membergraph.identity.store.sqlite_feed import head as feed_head
from membergraph.privacy.carry import carry_erasures, erasures_since, reapply
from membergraph.private_files import create_private
from membergraph.settings import Settings
from membergraph.sqlite_room import no_room
from membergraph.sqlite_snapshot import StoreUnreadable, open_for_reading
from membergraph.store_holders import held

__all__ = ["backup", "restore", "snapshot"]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


def backup(
    out: Annotated[Path, typer.Option("--out", help="The file to write (a new SQLite file).")],
    store: Annotated[
        str | None, typer.Option("--store", help=setting_help("store", "The store to copy."))
    ] = None,
) -> None:
    """Copy a SQLite store into one file, consistent, while gateways serve it.

    Everything the store holds is copied as one snapshot, the changes its -wal file holds
    included: a `cp` of the store file alone misses those. Restore it with `restore`.
    """
    url = command_settings(existing_store=True, store=store).store
    path = _store_path(url)
    require_out_folder("--out", out)
    require_out_apart("--out", out, url, None)
    if out.exists() and not out.is_file():
        refuse(f"--out {out} is not a file")
    _require_writable("--out", out)
    partial = out.with_name(out.name + ".partial")
    try:
        _remove(partial)
        create_private(partial)  # the whole store: its owner's only
        counts = snapshot(path, partial)
        os.replace(partial, out)
    except StoreUnreadable as exc:
        _remove(partial)
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except (sqlite3.Error, OSError) as exc:
        needs = _size(path) + _size(Path(f"{path}-wal"))
        said = _unwritten(f"write the copy {out}", partial, exc, needs, "take the backup again")
        _remove(partial)
        err.print(said or f"error: could not copy {path}: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    err.print(f"wrote {out}: a whole copy of {path} ({counts})")


def snapshot(path: Path, into: Path) -> str:
    """Copy the store at ``path`` into the new file ``into``, one consistent snapshot (its
    log's changes included), read-only where nothing can be written beside it (a read-only
    file system: :mod:`membergraph.sqlite_snapshot`); what the copy holds, said.

    Raises:
        StoreUnreadable: the store cannot be read whole where it is.
    """
    with (
        contextlib.closing(open_for_reading(path)) as source,
        contextlib.closing(sqlite3.connect(into)) as copy,
    ):
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one file, no log beside it
        return _counts(copy)


def restore(
    source: Annotated[Path, typer.Option("--from", help="A copy `backup` wrote.")],
    store: Annotated[
        str | None, typer.Option("--store", help=setting_help("store", "The store to replace."))
    ] = None,
    undo_erasures: Annotated[
        bool,
        typer.Option(
            "--undo-erasures",
            help="Restore the backup as it was: the people the replaced store erased since "
            "the backup come back (each named). Unset: they are erased again.",
        ),
    ] = False,
) -> None:
    """Put a backup in place of a SQLite store, with every gateway over it stopped.

    Refused while any process holds the store. The copy is checked whole first; the store
    it replaces is kept beside it, with its -wal file (`PATH.before-restore-TIME`): the
    changes made since the backup are there. The erasures the replaced store holds and the
    backup does not are carried over and run again over the restored store, so no one
    erased comes back (`--undo-erasures`: restored as the backup was, each named).
    """
    settings = command_settings(False, store=store)
    url = settings.store
    path = _store_path(url)
    if source.is_dir():
        refuse(f"--from {source} is a folder: name the file `membergraph backup --out` wrote")
    if not source.is_file():
        refuse(f"--from {source}: no such file")
    if source.resolve() == path.resolve():
        refuse(f"--from {source} is the store itself")
    if held(path):
        refuse(
            f"{path} is open in another process (a gateway, a worker, a command): stop every"
            " process over it, then restore (SQLite would mix the copy with their log)"
        )
    counts, found = _checked(source)
    partial = path.with_name(path.name + ".restoring")
    try:
        _remove(partial)
        create_private(partial)  # the whole store: its owner's only
        handed_out = _feed_head(path)
        with (
            contextlib.closing(sqlite3.connect(source)) as copy,
            contextlib.closing(sqlite3.connect(partial)) as into,
        ):
            copy.backup(into)
            with into:
                carry_feed_on(into, handed_out)
            since = _erasures_since(path, into)
            undone = [(i, m) for i, m, narrowed in since if not narrowed]
            named = [(i, m) for i, m, narrowed in since if narrowed]
            if not undo_erasures:
                ids = [i for i, _, _ in since]
                carry_erasures(path, into, ids, [i for i, _ in named])
            into.execute("PRAGMA journal_mode = WAL")
        if path.exists():  # the store's mode stands (its operator's choice)
            os.chmod(partial, stat.S_IMODE(path.stat().st_mode))
        kept = _set_aside(path)
        os.replace(partial, path)
    except (sqlite3.Error, OSError) as exc:
        said = _unwritten(f"restore {path}", partial, exc, _size(source), "restore again")
        _remove(partial)
        err.print(said or f"error: could not restore {path}: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    aside = ""
    if kept is not None:  # (its log only when it held changes: see _set_aside)
        log = " (with its log)" if Path(f"{kept}-wal").exists() else ""
        aside = f"; the store it replaced is kept as {kept}{log}"
    err.print(f"restored {path} from {source} ({counts}){aside}", soft_wrap=True)
    if found is not None:  # (a backup an older or newer release took: restored, not served)
        err.print(f"note: the restored {refusal(found, url)}", soft_wrap=True)
    if named:  # (narrowed erasures: the restored records must be named again)
        listed = ", ".join(f"{i} (member {m})" for i, m in named)
        why = (
            "are undone (--undo-erasures)"
            if undo_erasures
            else "cannot be run again (a request keeps no record keys): their suppressions"
            " are carried over, but"
        )
        err.print(
            f"warning: {len(named)} erasure(s) of records named with --record since the"
            f" backup ({listed}) {why} the records are back from the backup: erase them"
            " again with `membergraph privacy erase MEMBER --record SOURCE:KEY --reason ...`",
            soft_wrap=True,
        )
    if undone:
        _erase_again(settings, undone, not undo_erasures, not undo_erasures and found is None)


def _erasures_since(path: Path, into: sqlite3.Connection) -> list[tuple[str, str, bool]]:
    """The erasures the store at ``path`` made since the backup; a store too damaged to
    say (a reason to restore) is said so, and the restore goes on."""
    try:
        return erasures_since(path, into)
    except sqlite3.DatabaseError as exc:
        err.print(
            f"warning: the erasures of {path} could not be read ({exc}): any made since the"
            " backup are not carried over; check `privacyRequests` and erase again",
            soft_wrap=True,
        )
        return []


def _erase_again(
    settings: Settings, undone: list[tuple[str, str]], carried: bool, run: bool
) -> None:
    """Run the erasures carried over (``run``), or say which the restore undid (not
    ``carried``) or left pending (a backup of another format, not served as it is: the
    start that serves it runs them): the replaced store erased these people after the
    backup was taken."""
    named = ", ".join(f"{request_id} (member {member})" for request_id, member in undone)
    if not carried:
        err.print(
            f"warning: the restored store holds {len(undone)} person(s) erased since the"
            f" backup, not erased again (--undo-erasures): {named}; erase each again"
            " with `membergraph privacy erase MEMBER --reason ...`",
            soft_wrap=True,
        )
        return
    if not run:
        err.print(
            f"note: {len(undone)} erasure(s) done since the backup are carried over, pending"
            f" ({named}): `membergraph reresolve` finishes them as it brings the store up;"
            " until then `export` and `privacy export` refuse it",
            soft_wrap=True,
        )
        return
    try:
        ran = asyncio.run(reapply(settings.model_copy(update={"data": None})))
    except Exception as exc:  # (the requests stay pending: a gateway's start runs them)
        err.print(
            f"error: the {len(undone)} erasure(s) done since the backup ({named}) are carried"
            f" over but could not run ({exc}): the next start of a gateway over the store"
            " finishes them before it answers",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    states = ", ".join(f"{request_id} {state.upper()}" for request_id, state in ran)
    err.print(
        f"erased again {len(undone)} person(s) the replaced store had erased since the"
        f" backup ({named}): {states}",
        soft_wrap=True,
    )


def _require_writable(option: str, out: Path) -> None:
    """Refuse (exit 2) an output whose folder this process cannot write, before any copy."""
    folder = out.parent
    if os.access(folder, os.W_OK):
        return
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    why = "is on a read-only file system" if read_only else "is not writable by this user"
    refuse(f"{option} {out}: the folder {folder} {why}: name a file in a folder you can write")


def _unwritten(what: str, file: Path, exc: BaseException, needs: int, again: str) -> str | None:
    """What to say when ``what`` failed writing ``file`` for want of room: which folder,
    the room left there, the room the copy takes (about ``needs`` bytes), what to do
    (None: another failure, said as the driver says it). Said before the partial file is
    removed: the room left then is the room there was."""
    found = no_room(str(file), exc)
    if found is None:
        if isinstance(exc, OSError) and exc.filename is not None:
            return f"error: could not {what}: {exc.strerror}: {exc.filename}"
        return None
    why, do, said = found
    return (
        f"error: could not {what} ({said}): {why}; the copy takes about {needs} bytes:"
        f" {do}, then {again}; no file is left"
    )


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _remove(file: Path) -> None:
    """Remove ``file`` and the journal, log and index SQLite may have left beside it."""
    for end in ("", "-journal", "-wal", "-shm"):
        Path(f"{file}{end}").unlink(missing_ok=True)


def _feed_head(path: Path) -> int:
    """The last change-feed cursor the store at ``path`` handed out (0: none, or no store)."""
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(_read_only(path), uri=True)) as db:
        try:
            return feed_head(db)
        except sqlite3.OperationalError:  # a store from before the feed
            return 0


def _read_only(path: Path) -> str:
    """A SQLite URI opening ``path`` read-only: absolute (a relative path has no ``file:``
    URI; the default store is ``./membergraph.db``), its ``?`` and ``#`` escaped."""
    return f"{path.resolve().as_uri()}?mode=ro"


def _store_path(url: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        refuse(f"--store {url}: backup and restore take a SQLite store, sqlite:///PATH")
    return path


def _checked(source: Path) -> tuple[str, StoreMark | None]:
    """What the copy holds, once SQLite finds it whole and a membergraph store (exit 1), and
    its mark when it is of another format than this release's (None: this one's)."""
    try:
        with contextlib.closing(sqlite3.connect(_read_only(source), uri=True)) as db:
            found = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if found != ["ok"]:
                err.print(
                    f"error: {source} is damaged ({'; '.join(found[:3])}): not"
                    " restored; take another backup"
                )
                raise typer.Exit(1)
            mark = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if mark is None:
                raise sqlite3.DatabaseError("no membergraph store format mark")
            made = read_mark(mark[0], "")
            held = db.execute("SELECT EXISTS (SELECT 1 FROM records)").fetchone()[0]
            return _counts(db), made if apart(made, bool(held)) else None
    except StoreFormatError as exc:
        err.print(f"error: {source}: {exc}: not restored")
        raise typer.Exit(1) from None
    except sqlite3.Error as exc:
        err.print(f"error: {source} is no membergraph store ({exc}): not restored")
        raise typer.Exit(1) from None


def _counts(db: sqlite3.Connection) -> str:
    members = db.execute("SELECT count(*) FROM members").fetchone()[0]
    tables = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'source_lines'"
    if db.execute(tables).fetchone() is None:  # (sources read elsewhere: an API)
        return f"{members} members"
    lines = db.execute("SELECT count(*) FROM source_lines").fetchone()[0]
    return f"{members} members, {lines} source lines"


def _set_aside(path: Path) -> Path | None:
    """Rename the store and its log out of the way, together (None: there was none)."""
    if not path.exists():
        _remove(path)  # (a log or journal left of no store)
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = path.with_name(f"{path.name}.before-restore-{stamp}")
    # No process holds it (checked): its -shm is no one's, and a -wal without a change
    # (one a read-only look made, as this restore's own) tells nothing; a log with changes
    # is kept with it (the changes made since the backup are there).
    Path(f"{path}-shm").unlink(missing_ok=True)
    log = Path(f"{path}-wal")
    if log.exists() and log.stat().st_size == 0:
        log.unlink()
    elif log.exists():
        os.replace(log, f"{kept}-wal")
    os.replace(path, kept)
    return kept
