"""Batch reading on worker processes gives exactly what reading into the gateway gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from membergraph.connectors.models import SourceName
from membergraph.identity import file_pieces
from membergraph.identity.batch import resolve_folder, scan_folder
from membergraph.identity.load import collect_records
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.source_set import open_sources


def _facts(records: dict[RecordKey, RecordData]) -> dict[RecordKey, tuple[object, ...]]:
    return {
        ref: (
            (r.role, sorted(r.identifiers), r.first_name, r.last_name, r.birth_date, r.address),
            r.days,
            r.email_days,
        )
        for ref, r in records.items()
    }


def _gateway_records(folder: Path) -> dict[RecordKey, RecordData]:
    sources = open_sources(folder, "US")
    return collect_records(sources.lines(), older=sources.older_lines())


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_on_workers_fold_the_records_the_gateway_folds(
    demo_source: Path, workers: int
) -> None:
    # Small pieces: every file is cut many times, so records span pieces and workers.
    scan = scan_folder(demo_source, workers=workers, piece_bytes=4096)
    assert _facts(scan.records) == _facts(_gateway_records(demo_source))
    crm = len((demo_source / "crm.jsonl").read_bytes().splitlines())
    assert scan.reports[SourceName.CRM].accepted == crm


def _append(path: Path, *lines: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def test_a_later_version_of_a_line_replaces_it_across_pieces(
    demo_source: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(demo_source, folder)
    first = orjson.loads((folder / "crm.jsonl").read_bytes().split(b"\n", 1)[0])
    moved = {**first, "emails": ["moved.away@example.org"], "phones": []}
    _append(folder / "crm.jsonl", orjson.dumps(moved))
    scan = scan_folder(folder, workers=2, piece_bytes=2048)
    record = scan.records[("crm", first["contact_id"])]
    # Its older version's e-mails are still hers (purchases under them); nothing else stays
    emails = {i.value for i in record.identifiers if i.kind == "EMAIL"}
    assert emails == {"moved.away@example.org", *(e.strip().lower() for e in first["emails"])}
    assert _facts(scan.records) == _facts(_gateway_records(folder))


OLD_MAIL, NEW_MAIL = "ada.quill@mailbox.org", "ada.work@quillworks.com"
ADA = {
    "contact_id": "C-ADA",
    "first_name": "Ada",
    "last_name": "Quill",
    "emails": [OLD_MAIL],
    "updated_at": "2025-01-01T00:00:00Z",
}
ADAH = {**ADA, "first_name": "Adah", "emails": [NEW_MAIL], "updated_at": "2026-01-01T00:00:00Z"}
ORDER = {
    "transaction_id": "T-OLD",
    "email": OLD_MAIL,
    "channel": "online",
    "occurred_at": "2024-06-01T00:00:00Z",
    "amount_cents": 1200,
}


@pytest.mark.parametrize(
    "versions",
    [
        pytest.param([ADA, ADAH], id="older-first"),
        pytest.param([ADAH, ADA], id="older-arriving-late"),
        pytest.param([ADAH], id="newer-only"),
    ],
)
async def test_a_contacts_older_email_still_names_her(
    tmp_path: Path, versions: list[dict[str, object]]
) -> None:
    # Given a contact whose e-mail changed, its versions in this file order, and an online
    # order under her old e-mail
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "crm.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in versions))
    (folder / "transactions.jsonl").write_bytes(orjson.dumps(ORDER) + b"\n")
    # When the folder is resolved in one batch, and read as the gateway reads it
    out = tmp_path / "out.jsonl"
    async with SqliteStore(tmp_path / "s.db") as store:
        await resolve_folder(folder, out, store)
    answers = {a["id"]: a["member_id"] for a in map(orjson.loads, out.read_bytes().splitlines())}
    scan = scan_folder(folder, workers=1)
    # Then the order is hers exactly when a version of her contact gave that e-mail, in
    # either order; and her record is the newest version's (Adah)
    assert (answers["T-OLD"] == answers["C-ADA"]) is (ADA in versions)
    assert scan.records[("crm", "C-ADA")].first_name == "Adah"
    assert _facts(scan.records) == _facts(_gateway_records(folder))


@pytest.mark.parametrize("piece_bytes", [2048, 1 << 20])
def test_a_resent_purchase_counts_only_as_its_latest_version(
    demo_source: Path, tmp_path: Path, piece_bytes: int
) -> None:
    # Workers fold a piece's lines into one part per record; a re-sent line must not keep
    # the card or e-mail its earlier version named (within a piece and across pieces).
    folder = tmp_path / "data"
    shutil.copytree(demo_source, folder)
    first = orjson.loads((folder / "transactions.jsonl").read_bytes().split(b"\n", 1)[0])
    bought = {**first, "transaction_id": "T-resent", "loyalty_id": "LD99990001"}
    others = [{**first, "transaction_id": f"T-other-{n}"} for n in range(20)]  # a piece apart
    _append(
        folder / "transactions.jsonl",
        orjson.dumps({**bought, "email": "typed.wrong@example.org"}),
        *map(orjson.dumps, others),
        # The till's correction: a newer version (equal order would be decided by content)
        orjson.dumps({**bought, "email": None, "updated_at": "2026-11-30T00:00:00Z"}),
    )
    visit = orjson.loads((folder / "web_analytics.jsonl").read_bytes().split(b"\n", 1)[0])
    _append(folder / "web_analytics.jsonl", orjson.dumps({**visit, "email": "new@example.org"}))
    scan = scan_folder(folder, workers=2, piece_bytes=piece_bytes)
    card = scan.records[("transactions", "loyalty:LD99990001")]
    assert {i.kind for i in card.identifiers} == {"LOYALTY_ID"}
    assert _facts(scan.records) == _facts(_gateway_records(folder))


def test_malformed_lines_keep_their_file_line_numbers_and_places(tmp_path: Path) -> None:
    good = [
        orjson.dumps(
            {
                "event_id": f"E{i}",
                "anonymous_id": f"a{i % 3}",
                "type": "page",
                "occurred_at": "2026-01-01T00:00:00Z",
            }
        )
        for i in range(40)
    ]
    lines = [*good[:10], b"{not json", *good[10:25], b"", b'{"event_id": "E99"}', *good[25:]]
    (tmp_path / "web_analytics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scan = scan_folder(tmp_path, workers=2, piece_bytes=512)
    member_of = {("web_analytics", f"a{i}"): f"m_{i}" for i in range(3)}
    answers = [orjson.loads(line) for line in b"".join(scan.answers(member_of)).splitlines()]
    assert len(answers) == 42  # the blank line is no line
    errors = [(n, a["error"].split(": ")[0]) for n, a in enumerate(answers) if "error" in a]
    assert errors == [(10, "web_analytics.jsonl:11"), (26, "web_analytics.jsonl:28")]
    # A line that is not JSON has no id to name; one refused for its other fields names its
    # own, so the sender finds it by id and not only by its place in the file
    assert [a["id"] for a in answers if "error" in a] == [None, "E99"]
    assert all(a["member_id"] is None for a in answers if "error" in a)
    assert [a["id"] for a in answers if "error" not in a] == [f"E{i}" for i in range(40)]
    assert [a["member_id"] for a in answers if "error" not in a] == [
        f"m_{i % 3}" for i in range(40)
    ]
    report = scan.reports[SourceName.WEB_ANALYTICS]
    assert (report.lines, report.accepted, report.malformed) == (42, 40, 2)
    assert "anonymous_id" in report.errors[1].message


@pytest.mark.parametrize("piece_bytes", [512, 1 << 20], ids=["many-pieces", "one-piece"])
def test_an_event_rewritten_or_nested_too_deep_is_refused_as_the_loader_refuses_it(
    tmp_path: Path, piece_bytes: int
) -> None:
    def event(i: int, **more: object) -> dict[str, object]:
        return {
            "event_id": f"E{i}",
            "anonymous_id": f"a{i % 3}",
            "type": "page",
            "occurred_at": "2026-01-01T00:00:00Z",
            **more,
        }

    deep: dict[str, object] = {"leaf": 1}
    for _ in range(120):
        deep = {"k": deep}
    good = [orjson.dumps(event(i)) for i in range(30)]
    resent = b'{"occurred_at": "2026-01-01T00:00:00Z",  "type": "page", "anonymous_id": "a1",'
    resent += b' "event_id": "E4"}'  # E4 again: other key order and spacing, same content
    rewritten = orjson.dumps(event(4, name="Email Opened"))  # E4 with other content
    too_deep = orjson.dumps(event(31, properties=deep))
    lines = [*good[:20], resent, rewritten, too_deep, *good[20:]]
    (tmp_path / "web_analytics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scan = scan_folder(tmp_path, workers=2, piece_bytes=piece_bytes)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    errors = [(n, a["error"]) for n, a in enumerate(answers) if "error" in a]
    # The same lines and reasons the file loader (serve, load) reports.
    loaded = open_sources(tmp_path, "US").reports()[SourceName.WEB_ANALYTICS]
    assert errors == [(21, str(loaded.errors[0])), (22, str(loaded.errors[1]))]
    assert errors[0][1] == (
        "web_analytics.jsonl:22: event_id E4 is already taken with other content, "
        "and web_analytics lines never change: send a new id"
    )
    assert (
        errors[1][1] == "web_analytics.jsonl:23: nested deeper than the 100 levels a line may have"
    )
    assert answers[20]["id"] == "E4"  # sent again, the same event: answered, not refused
    # a refused rewrite names its id (read whole); a line too deep to read names none
    assert (answers[21]["id"], answers[22]["id"]) == ("E4", None)
    report = scan.reports[SourceName.WEB_ANALYTICS]
    assert (report.lines, report.accepted, report.malformed) == (33, 31, 2)
    assert (loaded.lines, loaded.accepted, loaded.malformed) == (33, 31, 2)


def test_a_cash_sale_is_kept_for_the_books_and_nobodys(tmp_path: Path) -> None:
    sale = {"channel": "store", "occurred_at": "2026-01-01T00:00:00Z", "amount_cents": 100}
    lines = [
        orjson.dumps({**sale, "transaction_id": "T1", "loyalty_id": "LD12345678"}),
        orjson.dumps({**sale, "transaction_id": "T2"}),  # no card, no e-mail: a cash sale
        orjson.dumps({**sale, "transaction_id": "T3", "loyalty_id": "ld-1234-5678"}),
    ]
    (tmp_path / "transactions.jsonl").write_bytes(b"\n".join(lines))  # no final newline
    scan = scan_folder(tmp_path, workers=1)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    assert [a.get("error", a["id"]) for a in answers] == ["T1", "T2", "T3"]
    assert answers[1]["member_id"] is None
    assert answers[1]["unattributed"] == "no card and no e-mail address (a cash sale)"
    assert list(scan.records) == [("transactions", "loyalty:LD12345678")]


def test_without_worker_processes_the_folder_is_read_on_one_core(
    demo_source: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(workers: int) -> object:
        raise OSError("fork not permitted")

    monkeypatch.setattr(file_pieces, "worker_pool", no_processes)
    scan = scan_folder(demo_source, workers=2, piece_bytes=4096)
    assert _facts(scan.records) == _facts(_gateway_records(demo_source))
    assert "worker processes failed (fork not permitted)" in caplog.text


def test_lines_only_the_models_lax_reading_accepts_are_read_as_the_gateway_reads_them(
    tmp_path: Path,
) -> None:
    # The fast reader refuses these (a number in a string, a date for a timestamp); the
    # model accepts them, so the batch must too, with the same records and answers.
    lines = [
        {"transaction_id": " T1 ", "loyalty_id": "LD12345678", "channel": "store",
         "occurred_at": "2026-01-01", "amount_cents": "1200"},
        {"transaction_id": "T2", "email": "Ann.Lee@Mail.org", "channel": "online",
         "occurred_at": 1767225600, "amount_cents": 900.0},
        {"transaction_id": "T3", "channel": "online", "occurred_at": "2026-01-01T00:00:00Z",
         "amount_cents": "many"},
    ]  # fmt: skip
    (tmp_path / "transactions.jsonl").write_bytes(b"\n".join(map(orjson.dumps, lines)))
    scan = scan_folder(tmp_path, workers=1)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    assert [a["id"] for a in answers] == ["T1", "T2", "T3"]  # a bad line named by its id
    assert answers[2]["error"].startswith("transactions.jsonl:3: amount_cents")
    assert _facts(scan.records) == _facts(_gateway_records(tmp_path))
    assert set(scan.records) == {
        ("transactions", "loyalty:LD12345678"),
        ("transactions", "online:ann.lee@mail.org"),
    }


async def test_resolve_answers_a_purchase_keyed_by_a_hub_as_nobodys(tmp_path: Path) -> None:
    # Given three cardholders the till typed with the store's address, and two guests' lines
    store = "till7@shopmail.example"
    sale = {"channel": "store", "occurred_at": "2026-01-01T00:00:00Z", "amount_cents": 100}
    lines = [
        {**sale, "transaction_id": f"T{n}", "loyalty_id": f"LD8000000{n}", "email": store}
        for n in range(1, 4)
    ] + [{**sale, "transaction_id": f"G{n}", "email": store, "channel": "online"} for n in (1, 2)]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "transactions.jsonl").write_bytes(b"\n".join(map(orjson.dumps, lines)))
    out = tmp_path / "members.jsonl"
    # When the folder is resolved
    async with SqliteStore(tmp_path / "store.db") as identity:
        result = await resolve_folder(folder, out, identity, workers=1)
        assigned = await identity.all_assignments()
    # Then the guests' lines are answered as nobody's, counted, and their record has no member
    why = f"placeholder e-mail {store}: carried by many different people"
    answers = {a["id"]: a for a in map(orjson.loads, out.read_bytes().splitlines())}
    assert [answers[g] for g in ("G1", "G2")] == [
        {"source": "transactions", "id": g, "member_id": None, "unattributed": why}
        for g in ("G1", "G2")
    ]
    assert all(answers[f"T{n}"]["member_id"] for n in (1, 2, 3))
    assert result.unattributed == {why: 2}
    assert result.members == 3
    assert ("transactions", f"online:{store}") not in assigned


@pytest.mark.parametrize("workers", [1, 2])
async def test_resolve_answers_a_tills_own_card_as_nobodys(tmp_path: Path, workers: int) -> None:
    # Given a cashier's card scanned for guests six times a day on three days (each line
    # sent twice), and the cashier's own contact with it
    card, sale = "LD70000999", {"channel": "store", "amount_cents": 100}
    lines = [
        {**sale, "transaction_id": f"T{d}{n}", "loyalty_id": card,
         "occurred_at": f"2026-02-0{d}T1{n}:00:00Z"}
        for d in (1, 2, 3) for n in range(6) for _ in range(2)
    ]  # fmt: skip
    contact = {"contact_id": "C1", "first_name": "Cara", "last_name": "Lee", "loyalty_id": card}
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "transactions.jsonl").write_bytes(b"\n".join(map(orjson.dumps, lines)))
    (folder / "crm.jsonl").write_bytes(orjson.dumps(contact))
    out = tmp_path / "members.jsonl"
    # When the folder is resolved
    async with SqliteStore(tmp_path / "store.db") as identity:
        result = await resolve_folder(folder, out, identity, workers=workers)
        assigned = await identity.all_assignments()
    # Then every purchase on the card is nobody's, with why; the cashier is a member alone
    why = f"placeholder card {card}: more than 4 purchases a day on 3 days (a till's own)"
    answers = [a for a in map(orjson.loads, out.read_bytes().splitlines())]
    assert {a["unattributed"] for a in answers if a["source"] == "transactions"} == {why}
    assert result.unattributed == {why: 36}
    assert assigned == {("crm", "C1"): assigned[("crm", "C1")]}


@pytest.mark.parametrize("piece_bytes", [256, 1 << 20])
def test_a_number_beyond_64_bits_is_refused_as_the_loader_refuses_it(
    tmp_path: Path, piece_bytes: int
) -> None:
    # Adversarial pass (adv6): such a line was taken by every reader, and every answer
    # carrying it failed to encode (a plain-text 500 for the member's webActivity).
    def event(i: int, **more: object) -> bytes:
        line = {"event_id": f"E{i}", "anonymous_id": "a1", "type": "page",
                "occurred_at": "2026-01-01T00:00:00Z", **more}  # fmt: skip
        return json.dumps(line).encode()  # the standard library writes any integer

    lines = [event(i) for i in range(10)]
    lines[5] = event(5, properties={"n": 1 << 64})
    lines[7] = event(7, properties={"n": (1 << 63) - 1})  # the largest carried: taken
    (tmp_path / "web_analytics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scan = scan_folder(tmp_path, workers=2, piece_bytes=piece_bytes)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    errors = [(n, a["id"], a["error"]) for n, a in enumerate(answers) if "error" in a]
    loaded = open_sources(tmp_path, "US").reports()[SourceName.WEB_ANALYTICS]
    said = "properties.n: holds a number beyond the 64 bits a line may hold (-2^63 to 2^63-1)"
    assert errors == [(5, "E5", f"web_analytics.jsonl:6: {said}")]
    assert [str(e) for e in loaded.errors] == [f"web_analytics.jsonl:6: {said}"]


@pytest.mark.parametrize("piece_bytes", [256, 1 << 20])
def test_nan_1e400_and_a_key_twice_are_refused_by_resolve_and_load_alike(
    tmp_path: Path, piece_bytes: int
) -> None:
    # user30 8b, 8c: a folder's NaN or 1e400 was taken (stored null), a line naming its
    # event_id twice taken under the second. A push refuses them; a load and resolve too.
    def event(i: int, more: str = "") -> bytes:
        line = {"event_id": f"E{i}", "anonymous_id": "a1", "type": "page",
                "occurred_at": "2026-01-01T00:00:00Z"}  # fmt: skip
        return json.dumps(line).encode()[:-1] + more.encode() + b"}"

    lines = [event(i) for i in range(10)]
    lines[2] = event(2, ', "properties": {"price": NaN}')
    lines[4] = event(4, ', "properties": {"n": 1e400}')
    lines[6] = event(6, ', "event_id": "E-OTHER"')
    (tmp_path / "web_analytics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scan = scan_folder(tmp_path, workers=2, piece_bytes=piece_bytes)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    errors = [(n, a["error"]) for n, a in enumerate(answers) if "error" in a]
    loaded = open_sources(tmp_path, "US").reports()[SourceName.WEB_ANALYTICS]
    said = [
        "web_analytics.jsonl:3: properties.price: NaN is not JSON (a number is finite: write"
        " null, or leave the field out)",
        "web_analytics.jsonl:5: properties.n: 1e400 is beyond the largest number a line may"
        " hold (a double's, about 1.8e308)",
        "web_analytics.jsonl:7: event_id: named twice in one object (a key comes once: which"
        " value to take is no guess to make)",
    ]
    assert errors == list(zip([2, 4, 6], said, strict=True))
    assert [str(e) for e in loaded.errors] == said
    assert loaded.accepted == 7


@pytest.mark.parametrize("piece_bytes", [256, 1 << 20])
def test_a_line_of_megabytes_is_refused_as_the_loader_refuses_it(
    tmp_path: Path, piece_bytes: int
) -> None:
    # Adversarial pass (adv7, H): a line of megabytes in a source makes every lookup of the
    # store's keyed table near it read it whole; resolve and load refuse it alike.
    def event(i: int, **more: object) -> bytes:
        line = {"event_id": f"E{i}", "anonymous_id": "a1", "type": "page",
                "occurred_at": "2026-01-01T00:00:00Z", **more}  # fmt: skip
        return json.dumps(line).encode()

    lines = [event(i) for i in range(6)]
    lines[2] = event(2, properties={"blob": "x" * 2_000_000})
    (tmp_path / "web_analytics.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scan = scan_folder(tmp_path, workers=2, piece_bytes=piece_bytes)
    answers = [orjson.loads(line) for line in b"".join(scan.answers({})).splitlines()]
    errors = [(n, a["error"]) for n, a in enumerate(answers) if "error" in a]
    loaded = open_sources(tmp_path, "US").reports()[SourceName.WEB_ANALYTICS]
    said = "web_analytics.jsonl:3: longer than the 65536 bytes a line may have"
    assert errors == [(2, said)]
    assert [str(e) for e in loaded.errors] == [said]
    assert [a["id"] for a in answers] == [f"E{i}" for i in range(6)]  # every line answered
