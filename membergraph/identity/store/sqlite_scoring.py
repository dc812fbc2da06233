"""The SQLite store's scoring pass: each member's quintile scores (``r f m e p``) from cut
points the database finds through an index, and segments written only where they moved.

Ranking the whole population with window functions after every change cost 40 ms for
2,000 members and 500 ms for 20,000, holding the write lock: an ingest waited for it. A
member's score only needs the four cut rows of its column: rows ranked at or after cut *j*
lose a point. Each cut is one step down an index that holds the column's ranking order, so
the pass reads a few rows, scans once to compare, and writes only the rows whose score
changed; segments are computed again for those rows and the ones measured since the last
pass (``member_unscored``), not for everyone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from membergraph.identity.store.metrics_port import RANKS, Cuts, SegmentRules, segment_rules
from membergraph.identity.store.sqlite_rows import chunks

__all__ = ["RANK_INDEXES", "SCORING_SCHEMA", "mark_unscored", "score_pass"]

_KEYS = {column: (*order, "member_id") for column, (_, order) in RANKS.items()}
_KEY = {column: ", ".join(key) for column, key in _KEYS.items()}  # as SQL: "a, b, member_id"
_MARKS = {column: ", ".join("?" * len(key)) for column, key in _KEYS.items()}  # "?, ?, ?"
RANK_INDEXES = {f"member_metrics_rank_{c}": f"ON member_metrics ({k})" for c, k in _KEY.items()}
"""An index per score in its ranking order: a cut point is a step down it."""

SCORING_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS member_unscored (member_id TEXT PRIMARY KEY) WITHOUT ROWID;\n"
)
"""The members measured since the last pass: their segments are to be found again."""


def mark_unscored(db: sqlite3.Connection, member_ids: Iterable[str]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO member_unscored (member_id) VALUES (?)", [(m,) for m in member_ids]
    )


def _cuts(db: sqlite3.Connection, column: str) -> list[tuple[Any, ...]]:
    """The rows ranked first below each quintile (``insights.rfm.quintile``: the row at
    offset o from the best scores 5 - 5 * o // ranked, so it loses a point at each offset
    ceil(j * ranked / 5))."""
    ranked, key, marks = RANKS[column][0], _KEY[column], _MARKS[column]
    best_first = ", ".join(f"{c} DESC" for c in _KEYS[column])
    (count,) = db.execute(f"SELECT COUNT(*) FROM member_metrics WHERE {ranked} > 0").fetchone()
    cuts: list[tuple[Any, ...]] = []
    done = 0  # each cut found below the last one: the index is walked once, not four times
    for j in range(1, 5):
        offset = (j * count + 4) // 5
        if offset >= count:
            break
        if cuts and offset < done:  # few rows: two quintiles cut at the same row
            cuts.append(cuts[-1])
            continue
        after = f" AND ({key}) < ({marks})" if cuts else ""
        (row,) = db.execute(
            f"SELECT {key} FROM member_metrics WHERE {ranked} > 0{after}"
            f" ORDER BY {best_first} LIMIT 1 OFFSET ?",
            (*(cuts[-1] if cuts else ()), offset - done),
        ).fetchall()
        cuts.append(tuple(row))
        done = offset + 1
    return cuts


def score_pass(
    db: sqlite3.Connection, rules: SegmentRules, same_rules: bool, since: Cuts | None
) -> Cuts:
    """Scores and segments brought up to date with the rows (``since``: the cuts the rows
    were last scored with; ``same_rules``: whether the segments were found by ``rules``);
    the cuts they are scored with now."""
    unscored = {m for (m,) in db.execute("SELECT member_id FROM member_unscored")}
    db.execute("DELETE FROM member_unscored")
    moved, cuts = _rescore(db, sorted(unscored), since)
    _resegment(db, rules, (moved | unscored) if same_rules else None)
    return cuts


def _rescore(
    db: sqlite3.Connection, unscored: list[str], since: Cuts | None
) -> tuple[set[str], Cuts]:
    """Every row's scores set from the cut points, the rows that can have moved only: those
    measured since (``unscored``) and those between a cut's row then and now (a row ranks
    where it did; a cut that moved past it moves it). Without ``since``, every row."""
    moved: set[str] = set()
    now: Cuts = {}
    for column, (ranked, _) in RANKS.items():
        now[column] = cuts = _cuts(db, column)
        key, marks = _KEY[column], _MARKS[column]
        below = "".join(f" - (({key}) <= ({marks}))" for _ in cuts)
        score = f"(CASE WHEN {ranked} > 0 THEN 5{below} ELSE 1 END)"
        update = f"UPDATE member_metrics SET {column} = {score} WHERE {column} != {score}"
        args = [v for cut in cuts for v in cut] * 2
        then = None if since is None else since.get(column)
        if then is None or len(then) != len(cuts):
            moved.update(_updated(db, update, args))
            continue
        for chunk in chunks(unscored):
            where = f" AND member_id IN ({','.join('?' * len(chunk))})"
            moved.update(_updated(db, update + where, [*args, *chunk]))
        for was, cut in zip(then, cuts, strict=True):
            if was != cut:
                low, high = sorted((was, cut))
                where = f" AND ({key}) BETWEEN ({marks}) AND ({marks})"
                moved.update(_updated(db, update + where, [*args, *low, *high]))
    return moved, now


def _updated(db: sqlite3.Connection, update: str, args: Sequence[Any]) -> Iterator[str]:
    return (m for (m,) in db.execute(f"{update} RETURNING member_id", args))


def _resegment(db: sqlite3.Connection, rules: SegmentRules, members: set[str] | None) -> None:
    """Segments found again for ``members``; for everyone (writing only the differences)
    when None (other thresholds) or most members are to be done anyway."""
    conditions = segment_rules(rules)
    if members is not None:
        (count,) = db.execute("SELECT COUNT(*) FROM member_metrics").fetchone()
        if len(members) * 4 > count:
            members = None
    if members is None:
        _resegment_all(db, conditions)
        return
    for chunk in chunks(sorted(members)):
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM member_segments WHERE member_id IN ({marks})", chunk)
        for segment, condition in conditions.items():
            db.execute(
                "INSERT INTO member_segments (segment, member_id) SELECT ?, member_id"
                f" FROM member_metrics WHERE member_id IN ({marks}) AND ({condition})",
                (segment, *chunk),
            )


def _resegment_all(db: sqlite3.Connection, conditions: dict[str, str]) -> None:
    db.execute(
        f"DELETE FROM member_segments WHERE segment NOT IN ({','.join('?' * len(conditions))})",
        list(conditions),
    )
    for segment, condition in conditions.items():
        db.execute(
            "DELETE FROM member_segments WHERE segment = ? AND member_id NOT IN"
            f" (SELECT member_id FROM member_metrics WHERE {condition})",
            (segment,),
        )
        db.execute(
            "INSERT OR IGNORE INTO member_segments (segment, member_id)"
            f" SELECT ?, member_id FROM member_metrics WHERE {condition}",
            (segment,),
        )
