from __future__ import annotations

import errno
import gc
import json
import os
import resource
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.settings import Settings
from membergraph.source_set import demo_folder
from tests.conftest import read_jsonl

runner = CliRunner()


def test_demo_data_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        seed = "3" if name != "c" else "4"
        result = runner.invoke(
            app, ["demo-data", "--out", str(tmp_path / name), "--members", "40", "--seed", seed]
        )
        assert result.exit_code == 0, result.output
    files = (
        "crm.jsonl",
        "transactions.jsonl",
        "web_analytics.jsonl",
        "call_center.jsonl",
        "truth.jsonl",
    )
    for file in files:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "crm.jsonl").read_bytes() != (
        tmp_path / "c" / "crm.jsonl"
    ).read_bytes()


def test_demo_data_is_messy_like_real_sources(demo_source: Path) -> None:
    crm = read_jsonl(demo_source / "crm.jsonl")
    emails = [e for c in crm for e in c["emails"]]  # type: ignore[union-attr]
    assert any(e != e.strip() for e in emails), "e-mails with spaces"
    assert any(e.strip() != e.strip().lower() for e in emails), "e-mails in several casings"
    phones = [p for c in crm for p in c["phones"]]  # type: ignore[union-attr]
    assert any(p.startswith("(") for p in phones) and any("." in p for p in phones)
    cards = [c["loyalty_id"] for c in crm if c["loyalty_id"]]
    assert any("-" in c or c != c.upper() for c in cards)  # type: ignore[operator,union-attr]
    truth = read_jsonl(demo_source / "truth.jsonl")
    people_of_crm = [t["person"] for t in truth if t["source"] == "crm"]
    assert len(people_of_crm) > len(set(people_of_crm)), "duplicate CRM contacts"


def test_resolve_writes_one_line_per_input_line(demo_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "members.jsonl"
    store = f"sqlite:///{tmp_path / 'r.db'}"
    result = runner.invoke(
        app, ["resolve", "--data", str(demo_source), "--out", str(out), "--store", store]
    )
    assert result.exit_code == 0, result.output
    answers = read_jsonl(out)
    truth = read_jsonl(demo_source / "truth.jsonl")
    assert len(answers) == len(truth)
    # A guest purchase whose only identifier is a placeholder belongs to no one: it is
    # answered with its id and why, not as an error.
    assert not [r for r in answers if "error" in r], "the demo has no malformed line"
    nobodys = [r for r in answers if "unattributed" in r]
    assert nobodys and all(r["member_id"] is None and r["id"] for r in nobodys)
    placeholders = [r for r in nobodys if r["source"] == "transactions"]
    assert placeholders and all(
        str(r["unattributed"]).startswith(("placeholder e-mail ", "placeholder card "))
        for r in placeholders
    )
    # (a guest's purchase scanned with the till's house card is nobody's too)
    house = {
        str(t["transaction_id"])
        for t in read_jsonl(demo_source / "transactions.jsonl")
        if t["loyalty_id"] and len(set(str(t["loyalty_id"])[2:])) == 1
    }
    by_id = {str(r["id"]): r for r in placeholders}
    assert all(str(by_id[t]["unattributed"]).startswith("placeholder card ") for t in house)
    # and a family computer logged in as two members is nobody's too: two people's browsing
    devices = [r for r in nobodys if r["source"] != "transactions"]
    assert all(r["source"] == "web_analytics" for r in devices)
    assert all(
        r["unattributed"] == "a shared device: logged in as different members" for r in devices
    )
    assert "identify no one: " in result.output and "placeholder e-mail" in result.output
    rows = [r for r in answers if "unattributed" not in r]
    assert {(r["source"], r["id"]) for r in rows} <= {(t["source"], t["id"]) for t in truth}
    crm_ids = [t["id"] for t in truth if t["source"] == "crm"]
    assert [r["id"] for r in rows if r["source"] == "crm"] == crm_ids, "file order kept"
    assert all(str(r["member_id"]).startswith("m_") for r in rows)
    # Lines of one record share its member: every line of a CRM contact's loyalty card too.
    assert "already held" not in result.output  # a new store
    again = tmp_path / "again.jsonl"
    rerun = runner.invoke(
        app, ["resolve", "--data", str(demo_source), "--out", str(again), "--store", store]
    )
    assert read_jsonl(again) == answers, "re-running resolve changes nothing"
    # and says that it folded the folder into the members the store held (another folder's
    # lines would share members with these)
    assert "already held" in rerun.output and "--store" in rerun.output


def test_resolve_never_folds_into_the_default_store_unasked(
    demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a gateway's store where it was started (the default ./membergraph.db) holding
    # another folder's members
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMBERGRAPH_STORE", raising=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "crm.jsonl").write_text('{"contact_id": "C1", "emails": ["ann@mail.org"]}\n')
    loaded = runner.invoke(app, ["load", "--data", str(other), "--to", "sqlite:///membergraph.db"])
    assert loaded.exit_code == 0, loaded.output
    before = (tmp_path / "membergraph.db").stat().st_mtime_ns
    # When a folder is resolved there without --store
    out = tmp_path / "a.jsonl"
    refused = runner.invoke(app, ["resolve", "--data", str(demo_source), "--out", str(out)])
    # Then it is refused, saying how to ask for either, and nothing is written
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert "already holds 1 members" in said and "--store" in said
    assert not out.exists()
    assert (tmp_path / "membergraph.db").stat().st_mtime_ns == before
    # and naming the store folds into it, as asked
    asked = ["resolve", "--data", str(demo_source), "--out", str(out)]
    folded = runner.invoke(app, [*asked, "--store", "sqlite:///membergraph.db"])
    assert folded.exit_code == 0 and "already held 1 members" in folded.output


def test_resolve_reports_malformed_lines_in_place(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text('{"contact_id": "C1", "emails": ["a@b.com"]}\n{"broken\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "resolve",
            "--data",
            str(data),
            "--out",
            str(out),
            "--store",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
    )
    assert result.exit_code == 0, result.output
    first, second = read_jsonl(out)
    assert first["id"] == "C1" and first["member_id"]
    assert second["member_id"] is None and str(second["error"]).startswith("crm.jsonl:2: not JSON")


@pytest.mark.parametrize("command", ["load", "resolve"])
def test_a_contact_born_in_2999_is_reported_and_the_rest_loads(
    tmp_path: Path, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a CRM export where one contact's birth date is in the year 2999
    data = tmp_path / "data"
    data.mkdir()
    contacts = [
        {"contact_id": "C1", "first_name": "Ann", "emails": ["ann@example.org"]},
        {"contact_id": "C2", "first_name": "Bo", "birth_date": "2999-01-01", "emails": ["b@x.io"]},
        {"contact_id": "C3", "first_name": "Cy", "birth_date": "1980-02-03", "emails": ["c@x.io"]},
    ]
    (data / "crm.jsonl").write_text("".join(json.dumps(c) + "\n" for c in contacts))
    store, out = f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "out.jsonl"
    args = ["--to", store] if command == "load" else ["--out", str(out), "--store", store]
    # When the folder is loaded in one batch
    result = runner.invoke(app, [command, "--data", str(data), *args])
    # Then the line is reported with its place and why, and the others are members
    assert result.exit_code == 0, result.output
    said = "crm.jsonl:2: birth_date: Value error, 2999-01-01 is in the future"
    if command == "resolve":
        answers = read_jsonl(out)
        assert [bool(a["member_id"]) for a in answers] == [True, False, True]
        assert str(answers[1]["error"]).startswith(said)
    else:  # the log says no value of the line (docs/bad-input.md)
        shown = "crm.jsonl:2: birth_date: Value error, *** is in the future"
        assert shown in caplog.text and "2 members" in " ".join(result.output.split())
        assert "2999" not in caplog.text


def test_resolve_names_a_missing_answer_folder_before_it_works(tmp_path: Path) -> None:
    out, store = tmp_path / "missing" / "members.jsonl", tmp_path / "r.db"
    result = runner.invoke(
        app,
        ["resolve", "--data", str(tmp_path), "--out", str(out), "--store", f"sqlite:///{store}"],
    )
    assert result.exit_code == 2
    assert "no folder" in result.output and not store.exists()


def test_resolve_removes_the_partial_file_a_killed_run_left(
    demo_source: Path, tmp_path: Path
) -> None:
    # given the side file of a run killed while it wrote its answers
    out = tmp_path / "members.jsonl"
    (tmp_path / "members.jsonl.partial").write_text('{"source": "crm", "id": "C1"')
    # when resolve runs again for the same answer file
    store = f"sqlite:///{tmp_path / 'r.db'}"
    result = runner.invoke(
        app, ["resolve", "--data", str(demo_source), "--out", str(out), "--store", store]
    )
    # then only the complete answer is there
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if "members" in p.name) == ["members.jsonl"]
    assert len(read_jsonl(out)) == sum(
        len(read_jsonl(demo_source / name))
        for name in ("crm.jsonl", "transactions.jsonl", "web_analytics.jsonl", "call_center.jsonl")
    )


def test_serve_refuses_a_public_address_without_credentials() -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in result.output


def test_serve_names_a_bad_setting_as_it_was_given() -> None:
    # A bad flag is named as the flag, not as a variable the user never set
    result = runner.invoke(app, ["serve", "--port", "99999"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert "invalid setting --port: " in text and "MEMBERGRAPH_PORT" not in text
    # and a bad variable as the variable
    result = runner.invoke(app, ["serve"], env={"MEMBERGRAPH_PORT": "0"})
    assert result.exit_code == 2
    assert "invalid setting MEMBERGRAPH_PORT: " in " ".join(result.output.split())


def test_resolve_says_the_largest_reasons_lines_identify_no_one_first(tmp_path: Path) -> None:
    # Given purchases keyed by placeholders only: one of them, the last, on three lines
    emails = ["x@x.com", "none@none.com", "test@test.com", *["noemail@noemail.com"] * 3]
    data = tmp_path / "data"
    data.mkdir()
    (data / "transactions.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "transaction_id": f"T{i}",
                    "email": email,
                    "channel": "online",
                    "occurred_at": "2026-10-01T00:00:00Z",
                    "amount_cents": 100,
                }
            )
            + "\n"
            for i, email in enumerate(emails)
        )
    )
    out = tmp_path / "members.jsonl"
    store = f"sqlite:///{tmp_path / 'r.db'}"
    result = runner.invoke(
        app, ["resolve", "--data", str(data), "--out", str(out), "--store", store]
    )
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    # Then the summary names the largest reason first, and says the others exist
    said = "6 line(s) identify no one: placeholder e-mail noemail@noemail.com (3), "
    assert said in text, text
    assert 'and 1 other reason(s) (1 line(s)); see "unattributed"' in text, text


def test_serve_names_a_port_in_use_before_loading_or_announcing_anything(
    tmp_path: Path,
) -> None:
    # Given another server listening on the port (an older gateway, another tool)
    store = tmp_path / "fresh.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When membergraph is asked to serve there
        result = runner.invoke(
            app,
            ["serve", "--port", str(port), "--store", f"sqlite:///{store}", "--no-open"],
            env={
                "MEMBERGRAPH_CACHE_DIR": str(tmp_path / "cache"),
                "MEMBERGRAPH_DEMO_MEMBERS": "20",
            },
        )
    # Then it says so, naming the flag, and announces no URL that another server answers
    assert result.exit_code == 2, result.output
    assert f"127.0.0.1:{port} is in use" in result.output
    assert "--port" in result.output and "MEMBERGRAPH_PORT" in result.output
    assert "GraphiQL" not in result.output and not store.exists()


def test_serve_names_the_host_when_it_is_no_address_of_this_machine(tmp_path: Path) -> None:
    # Given credentials (so any host may be named) and a host this machine does not have
    store = tmp_path / "store.db"
    result = runner.invoke(
        app,
        ["serve", "--host", "192.0.2.1", "--store", f"sqlite:///{store}", "--no-open"],
        env={
            "MEMBERGRAPH_CACHE_DIR": str(tmp_path / "cache"),
            "MEMBERGRAPH_DEMO_MEMBERS": "20",
            "MEMBERGRAPH_JWT_SECRET": "a-secret-of-at-least-thirty-two-bytes!!",
        },
    )
    # Then it blames the host, not the port, before loading anything
    assert result.exit_code == 2, result.output
    assert "192.0.2.1:8000 cannot be listened on" in result.output
    assert "no address of this machine" in result.output and "--host" in result.output
    assert "in use" not in result.output and not store.exists()


def test_serve_says_in_one_line_that_a_read_only_store_cannot_be_written(
    tmp_path: Path,
) -> None:
    # Given a store SQLite opens read-only (as on a read-only file system: here its header's
    # write version says so, which holds for root too)
    store = tmp_path / "store.db"
    data = tmp_path / "data"
    assert runner.invoke(app, ["demo-data", "--out", str(data), "--members", "5"]).exit_code == 0
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", f"sqlite:///{store}"])
    assert loaded.exit_code == 0, loaded.output
    with store.open("r+b") as header:
        header.seek(18)
        header.write(b"\x03")
    # When the gateway is started over it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(
        app,
        ["serve", "--port", str(port), "--store", f"sqlite:///{store}", "--no-open"],
        env={"MEMBERGRAPH_CACHE_DIR": str(tmp_path / "cache")},
    )
    # Then it stops before serving, saying so in one line, without a stack trace
    assert result.exit_code == 1, result.output
    assert "cannot be written" in result.output and "Traceback" not in result.output


def test_a_bad_rules_file_stops_start_up(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[limits]\nEMAIL = -1\n")
    result = runner.invoke(
        app,
        ["resolve", "--data", str(tmp_path), "--out", str(tmp_path / "o")],
        env={"MEMBERGRAPH_RULES": str(rules)},
    )
    assert result.exit_code == 2
    assert "limits.EMAIL" in result.output


def test_load_into_sqlite_resolves_once_and_a_second_load_changes_nothing(
    demo_source: Path, tmp_path: Path
) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    first = runner.invoke(app, ["load", "--data", str(demo_source), "--to", url])
    assert first.exit_code == 0, first.output

    def counts() -> tuple[int, ...]:
        with sqlite3.connect(tmp_path / "loaded.db") as db:
            return tuple(
                db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("source_lines", "records", "members", "events", "feed")
            )

    loaded = counts()
    assert all(loaded[:3]), loaded
    again = runner.invoke(app, ["load", "--data", str(demo_source), "--to", url])
    assert again.exit_code == 0, again.output
    assert counts() == loaded


def test_version_and_schema_print_what_clients_need() -> None:
    from membergraph import __version__

    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"membergraph {__version__}"
    sdl = runner.invoke(app, ["schema"])
    assert sdl.exit_code == 0
    assert sdl.output == (Path(__file__).parent.parent / "schema.graphql").read_text()


def test_serve_help_names_each_flags_environment_variable_and_default() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    for variable, default in [
        ("MEMBERGRAPH_STORE", "sqlite:///./membergraph.db"),
        ("MEMBERGRAPH_HOST", "127.0.0.1"),
        ("MEMBERGRAPH_PORT", "8000"),
        ("MEMBERGRAPH_DATA", "unset"),
    ]:
        assert f"Env {variable}, default {default}." in text
    # and a flag that is no setting says so, with its default
    for flag, default in (("--open", "open"), ("--workers", "1")):
        described = text.split(flag, 1)[1].split("│ --", 1)[0]
        assert "No environment variable." in described and f"[default: {default}]" in described


def test_help_text_flows_as_paragraphs_not_the_sources_line_breaks() -> None:
    # The docstrings are wrapped at 100 columns in the source; the terminal wraps them anew.
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "a flag wins over the variable, the variable over the default." in result.output
    load = runner.invoke(app, ["load", "--help"], env={"COLUMNS": "200"})
    assert "(idempotent: loading twice changes nothing)" in load.output


def test_serve_help_names_the_loyalty_programs_settings() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert "MEMBERGRAPH_POINTS_EXPIRY_DAYS (default unset): Points expire" in text
    assert "MEMBERGRAPH_TIER_QUALIFICATION_DAYS (default unset): A member's tier" in text


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_load_into_mongodb_says_when_the_suppressions_cannot_be_read(tmp_path: Path) -> None:
    # The load honours the identity store's suppressions: a store it cannot open stops it
    # before anything is written, naming that store (and how to name another).
    url = "mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300&timeoutMS=300"
    result = runner.invoke(app, ["load", "--data", str(tmp_path), "--to", url])
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert "the identity store whose suppressions a load honours (--store" in text
    del result  # its exception info holds PyMongo's failed socket: let it go now
    gc.collect()  # PyMongo's monitor socket to the closed port is reclaimed here, not later


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_load_into_mongodb_waits_as_long_as_the_settings_say(tmp_path: Path) -> None:
    # Given the MongoDB time limits set as the gateway reads them (the shortest allowed: an
    # election's), and sources on a server that does not answer (the identity store a SQLite
    # file, which does)
    env = {
        "MEMBERGRAPH_MONGODB_TIMEOUT_MS": "12000",
        "MEMBERGRAPH_MONGODB_SERVER_SELECTION_MS": "12000",
    }
    store = f"sqlite:///{tmp_path / 'identity.db'}"
    url = "mongodb://127.0.0.1:1/x"
    # When a folder is loaded into it
    result = runner.invoke(
        app, ["load", "--data", str(tmp_path), "--to", url, "--store", store], env=env
    )
    # Then it gives up after the settings' time, and says how long it waited
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert "no server answered in 12.0 s" in text, text
    del result  # its exception info holds PyMongo's failed socket: let it go now
    gc.collect()


def test_load_to_an_unknown_kind_of_url_names_the_flag(tmp_path: Path) -> None:
    # Adversarial pass: `--to mysql://x` said "invalid setting MEMBERGRAPH_SOURCES".
    result = runner.invoke(app, ["load", "--data", str(tmp_path), "--to", "mysql://x"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert "--to mysql://x: expected sqlite:///PATH or mongodb://HOST/DB" in text
    assert "MEMBERGRAPH_SOURCES" not in text


@pytest.mark.parametrize(
    ("command", "said", "code"),
    [
        pytest.param(
            ["export", "--out", "{tmp}/x.csv", "--store", "sqlite:///{tmp}/typo.db"],
            "no store at {tmp}/typo.db",
            2,
            id="export-over-no-store",
        ),
        pytest.param(
            ["privacy", "export", "m_x", "--store", "sqlite:///{tmp}/typo.db"],
            "no store at {tmp}/typo.db",
            2,
            id="privacy-export-over-no-store",
        ),
        pytest.param(
            ["privacy", "erase", "m_x", "--reason", "T-1", "--store", "sqlite:///{tmp}/typo.db"],
            "no store at {tmp}/typo.db",
            2,
            id="privacy-erase-over-no-store",
        ),
        pytest.param(
            ["resolve", "--data", "{tmp}", "--out", "{tmp}/r.jsonl"]
            + ["--store", "sqlite:///{tmp}/missing/x.db"],
            "no folder {tmp}/missing",
            2,
            id="resolve-into-a-missing-folder",
        ),
        pytest.param(
            ["privacy", "export", "m_x", "--out", "{tmp}/missing/p.json"],
            "no folder {tmp}/missing",
            2,
            id="privacy-export-to-a-missing-folder",
        ),
        pytest.param(
            ["load", "--data", "{tmp}", "--to", "sqlite:///"],
            "sqlite:/// names no file",
            2,
            id="load-to-no-file",
        ),
        pytest.param(
            ["demo-data", "--out", "{tmp}/a-file/x", "--members", "5"],
            "--out {tmp}/a-file/x",
            2,
            id="demo-data-under-a-file",
        ),
        pytest.param(  # adv7: it made every missing folder above it
            ["demo-data", "--out", "{tmp}/missing/x", "--members", "5"],
            "no folder {tmp}/missing",
            2,
            id="demo-data-into-a-missing-folder",
        ),
    ],
)
def test_a_mistyped_path_is_refused_by_name_and_nothing_is_made(
    tmp_path: Path, command: list[str], said: str, code: int
) -> None:
    # Adversarial pass, finding 16: `export --store` a mistyped file made a store, loaded
    # the demo set into it and exported it (exit 0); resolve and privacy export made the
    # folders they were given; `load --to sqlite:///` said it loaded; demo-data traced.
    (tmp_path / "a-file").write_text("not a folder")
    before = sorted(tmp_path.rglob("*"))
    result = runner.invoke(app, [part.format(tmp=tmp_path) for part in command])
    assert result.exit_code == code, result.output
    assert said.format(tmp=tmp_path) in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before, "no store, folder or file was made"


@pytest.mark.parametrize("command", ["serve", "load"])
def test_a_store_that_cannot_be_made_is_refused_in_one_line(
    tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Adversarial pass: a new store in a read-only folder (a read-only mount, a folder
    # without write permission) failed inside the server's start with a 41-line traceback,
    # exit 3; `load --to sqlite:///DIR` (a folder) said only "unable to open database file".
    (tmp_path / "a-dir").mkdir()
    data = ["--data", str(tmp_path / "a-dir")]
    args = [command, *data, *(["--no-open", "--store"] if command == "serve" else ["--to"])]
    folder = runner.invoke(app, [*args, f"sqlite:///{tmp_path / 'a-dir'}"])
    assert folder.exit_code == 2 and "Traceback" not in folder.output, folder.output
    assert "is a folder" in " ".join(folder.output.split())

    def read_only(*_: object, **__: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    refused = runner.invoke(app, [*args, f"sqlite:///{tmp_path / 'a-dir' / 'x.db'}"])
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
    assert "cannot be made" in said and "Read-only file system" in said
    assert not (tmp_path / "a-dir" / "x.db").exists()


def test_a_demo_set_an_older_generator_cached_is_written_again(tmp_path: Path) -> None:
    # Given the cache of an earlier release: the folder its generator wrote, without Jane Doe.
    settings = Settings(cache_dir=tmp_path / "cache", demo_members=30, demo_seed=7)
    old = settings.cache_dir / "demo-30-seed7"
    old.mkdir(parents=True)
    (old / "crm.jsonl").write_text('{"contact_id": "C-OLD", "emails": ["old@example.com"]}\n')
    (old / "truth.jsonl").write_text("")
    # When the demo set is asked for, then it is this generator's, which holds Jane Doe.
    folder = demo_folder(settings)
    assert folder != old
    assert "jane.doe@doe-family.net" in (folder / "crm.jsonl").read_text().lower()
    # And asked again, the same folder is served without writing it again.
    written = (folder / "truth.jsonl").stat().st_mtime_ns
    assert demo_folder(settings) == folder
    assert (folder / "truth.jsonl").stat().st_mtime_ns == written


_CUT_SHORT = """
import resource, sys
from pathlib import Path
from membergraph.settings import Settings
from membergraph.source_set import demo_folder
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # a full disk, soon
try:
    demo_folder(Settings(cache_dir=Path(sys.argv[1]), demo_members=2000))
except OSError as exc:
    print(exc)
"""


def test_a_demo_set_cut_short_leaves_nothing_named_as_a_whole_one(tmp_path: Path) -> None:
    # Adversarial pass: a demo set whose writing stopped (Ctrl-C, a kill, a full disk) was
    # left cut under the source files' names, with its truth.jsonl: `serve` took the cached
    # one as written at every later start and served the cut set (crm.jsonl half-written,
    # no purchase, no web event), without a word.
    # Given the demo cache written on a disk that fills up part-way
    cache = tmp_path / "cache"
    cut = subprocess.run(
        [sys.executable, "-c", _CUT_SHORT, str(cache)], capture_output=True, text=True, check=True
    )
    assert "File too large" in cut.stdout, cut
    # Then nothing there passes for a demo set, and the next start writes it whole
    assert not [p for p in cache.rglob("*") if p.is_file()], list(cache.rglob("*"))
    folder = demo_folder(Settings(cache_dir=cache, demo_members=2000))
    assert (folder / "truth.jsonl").exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "call_center.jsonl", "crm.jsonl", "transactions.jsonl", "truth.jsonl", "web_analytics.jsonl"
    ]  # fmt: skip
    # And `demo-data` cut alike leaves the folder it was given without a source file
    out = tmp_path / "demo"
    cli = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out", str(out)]
    subprocess.run(
        [*cli, "--members", "2000"],
        capture_output=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000)),
        check=False,
    )
    assert out.is_dir() and list(out.iterdir()) == []


@pytest.mark.parametrize(
    "to",
    [
        pytest.param("sqlite://x.db", id="two-slashes"),
        pytest.param("sqlite:///", id="no-file"),
        pytest.param("sqlite:///{tmp}/no-folder/x.db", id="no-folder"),
    ],
)
def test_load_refuses_a_bad_to_naming_the_flag_typed(tmp_path: Path, to: str) -> None:
    to = to.format(tmp=tmp_path)
    result = runner.invoke(
        app, ["load", "--data", str(tmp_path), "--to", to], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"--to {to}" in said and "MEMBERGRAPH_" not in said, said
    assert list(tmp_path.iterdir()) == []  # nothing created


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["reresolve"], id="reresolve"),
        pytest.param(["privacy", "export", "m_x"], id="privacy-export"),
        pytest.param(["serve", "--no-open", "--port", "PORT"], id="serve"),
    ],
)
def test_a_store_file_that_is_no_database_ends_the_command(
    tmp_path: Path, command: list[str]
) -> None:
    # Given a store path that holds something else (a mistyped name, a truncated copy)
    store = tmp_path / "notes.db"
    store.write_text("not a database\n")
    command = [_free_port() if part == "PORT" else part for part in command]
    # When a command is pointed at it (in a process of its own: the process must end)
    done = subprocess.run(
        [sys.executable, "-m", "membergraph.cli", *command, "--store", f"sqlite:///{store}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMBERGRAPH_CACHE_DIR": str(tmp_path / "cache")},
    )
    # Then it says why and exits, rather than hanging after the message
    assert done.returncode == 1, done.stderr
    assert "file is not a database" in done.stderr


@pytest.mark.parametrize(
    ("command", "target", "said"),
    [
        pytest.param(
            ["resolve", "--data", "DATA"], "store.db", "is the store itself", id="resolve-store"
        ),
        pytest.param(
            ["resolve", "--data", "DATA"], "store.db-wal", "is the store itself", id="resolve-wal"
        ),
        pytest.param(
            ["resolve", "--data", "DATA"],
            "data/crm.jsonl",
            "a file of the data folder",
            id="resolve-source",
        ),
        pytest.param(["export"], "store.db", "is the store itself", id="export-store"),
        pytest.param(["privacy", "export", "m_x"], "store.db", "is the store itself", id="privacy"),
    ],
)
def test_an_answer_file_that_would_replace_the_store_or_a_source_is_refused(
    tmp_path: Path, command: list[str], target: str, said: str
) -> None:
    # Given a store and a data folder (what they hold is kept byte for byte)
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text('{"contact_id": "C-1"}\n')
    store = tmp_path / "store.db"
    store.write_bytes(b"the store's bytes")
    before = {p: p.read_bytes() for p in (store, data / "crm.jsonl")}
    # When --out names the store (a typo: members.db for members.jsonl) or a source file
    args = [str(data) if part == "DATA" else part for part in command]
    out = tmp_path / target
    result = runner.invoke(app, [*args, "--out", str(out), "--store", f"sqlite:///{store}"])
    # Then it is refused before anything is read or written, naming what it would replace
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize(
    ("files", "said"),
    [
        pytest.param(["CRM.jsonl"], "CRM.jsonl would not be read", id="upper-case"),
        pytest.param(["crm.jsonl.gz"], "crm.jsonl.gz would not be read", id="compressed"),
        pytest.param(["crm.jsonl", "Transactions.json"], "Transactions.json would", id="one-of"),
        pytest.param(["crm.jsonl/"], "crm.jsonl is not a file", id="a-folder"),
        # user32b: a folder of a new source's lines alone loaded "0 members", exit 0
        pytest.param(
            ["mobile_app.jsonl", "survey.jsonl"],
            "holds no source file, only mobile_app.jsonl, survey.jsonl, which no source reads",
            id="no-source-file",
        ),
        # Adversarial pass (hostile19): it said "crm.jsonl would not be read: source files
        # are named crm.jsonl, ...", blaming the name of a link whose target was gone
        # (hostile19) a file saved by Windows PowerShell: 2 contacts were 3 bad lines
        pytest.param(["crm.jsonl#utf-16"], "crm.jsonl is UTF-16", id="utf-16"),
        pytest.param(
            ["crm.jsonl@gone/crm-1204.jsonl"],
            "crm.jsonl links to gone/crm-1204.jsonl, which is not there",
            id="a-link-to-nothing",
        ),
    ],
)
@pytest.mark.parametrize("command", ["load", "resolve"])  # serve: the same check
def test_a_source_file_named_otherwise_is_refused_not_read_as_empty(
    tmp_path: Path, files: list[str], said: str, command: str
) -> None:
    # Given a folder whose CRM export was saved under another name (or compressed)
    data = tmp_path / "data"
    data.mkdir()
    for name in files:
        if name.endswith("/"):
            (data / name).mkdir()
        elif "@" in name:  # a link, name@target
            link, target = name.split("@")
            (data / link).symlink_to(target)
        elif "#" in name:  # a file in another encoding, name#encoding (its byte order mark)
            name, encoding = name.split("#")
            (data / name).write_text('{"contact_id": "C-1"}\r\n' * 2, encoding=encoding)
        else:
            (data / name).write_text('{"contact_id": "C-1", "emails": ["ann@mail.org"]}\n')
    store = f"sqlite:///{tmp_path / 'store.db'}"
    args = {
        "load": ["load", "--data", str(data), "--to", store],
        "resolve": ["resolve", "--data", str(data), "--out", str(tmp_path / "a.jsonl")],
    }[command]
    # When it is loaded or resolved
    result = runner.invoke(app, args)
    # Then the command stops naming the file and the names it reads, instead of saying
    # it loaded 0 members; nothing is made
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert not (tmp_path / "store.db").exists() and not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize("target", ["fifo", "folder"])
@pytest.mark.parametrize("command", ["resolve", "export"])
def test_an_answer_named_over_a_pipe_or_a_folder_is_refused_and_leaves_it_be(
    tmp_path: Path, command: str, target: str
) -> None:
    # Given a small store, and an --out that is a named pipe (as /dev/stdout may be, or a
    # device under /dev for root) or a folder
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text('{"contact_id": "C-1", "emails": ["ann@mail.org"]}\n')
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["load", "--data", str(data), "--to", store]).exit_code == 0
    out = tmp_path / "out"
    if target == "fifo":
        os.mkfifo(out)
    else:
        out.mkdir()
    args = {
        "resolve": ["resolve", "--data", str(data), "--store", store],
        "export": ["export", "--store", store],
    }[command]
    # When the answer is written there
    result = runner.invoke(app, [*args, "--out", str(out)])
    # Then the command is refused before it runs, and the pipe or folder is still one
    assert result.exit_code == 2, result.output
    assert "not a file" in " ".join(result.output.split())
    assert stat.S_ISFIFO(out.stat().st_mode) if target == "fifo" else out.is_dir()


def test_demo_data_refuses_a_folder_of_ones_own_source_files(tmp_path: Path) -> None:
    # Given a folder of one's own exports (no truth.jsonl: no demo wrote it)
    mine = tmp_path / "exports"
    mine.mkdir()
    (mine / "crm.jsonl").write_text('{"contact_id": "REAL-1", "first_name": "Real"}\n')
    # When demo data is written there (a typo of the demo's folder)
    result = runner.invoke(app, ["demo-data", "--out", str(mine), "--members", "5"])
    # Then it is refused, naming the file, and the exports are as they were
    assert result.exit_code == 2, result.output
    assert "holds crm.jsonl and no truth.jsonl" in " ".join(result.output.split())
    assert "REAL-1" in (mine / "crm.jsonl").read_text()
    # And a demo folder is written again as before
    demo = tmp_path / "demo"
    assert runner.invoke(app, ["demo-data", "--out", str(demo), "--members", "5"]).exit_code == 0
    assert runner.invoke(app, ["demo-data", "--out", str(demo), "--members", "6"]).exit_code == 0


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path (``privacy export``, ...), from the Click tree Typer builds."""
    found: list[tuple[str, ...]] = []
    for name, command in getattr(group, "commands", {}).items():
        if hasattr(command, "commands"):  # a group
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_commands_store_option_names_its_variable_and_default() -> None:
    import typer.main

    commands = _commands(typer.main.get_command(app))
    with_store = []
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        text = " ".join(result.output.split())
        if "--store" in text:
            with_store.append(command)
            # (load's default is the database it loads into, and says so)
            assert "Env MEMBERGRAPH_STORE" in text, command
            assert "default sqlite:///./membergraph.db." in text or command == ("load",)
            assert "as for serve" not in text, command
    # (the commands an operator runs beside serve all take a store)
    assert {("sync",), ("export",), ("privacy", "export"), ("backup",)} <= set(with_store)


def test_serve_refuses_a_folder_beside_a_mongodb_store_naming_the_load(tmp_path: Path) -> None:
    # A MongoDB deployment's sources are its collections, shared by every gateway: a folder
    # is loaded into them once, by `membergraph load`, never held by each serving process.
    url = "mongodb://app:s3cret@127.0.0.1:1/crm?replicaSet=rs0"
    result = runner.invoke(
        app, ["serve", "--data", str(tmp_path), "--store", url, "--no-open"], env={"COLUMNS": "300"}
    )
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert f"membergraph load --data {tmp_path} --to 'mongodb://app:***@127.0.0.1:1/crm" in text
    assert "s3cret" not in text


@pytest.mark.parametrize(
    ("command", "said"),
    [
        pytest.param(
            ["serve", "--no-open", "--store", "sqlite:///{tmp}/s.db", "--port", "{port}"],
            "MEMBERGRAPH_DATA {tmp}/typo: not a folder",
            id="serve-from-the-environment",
        ),
        pytest.param(
            ["export", "--out", "{tmp}/x.csv", "--store", "sqlite:///{tmp}/s.db"]
            + ["--data", "{tmp}/typo"],
            "--data {tmp}/typo: not a folder",
            id="export",
        ),
        pytest.param(
            ["privacy", "export", "m_x", "--store", "sqlite:///{tmp}/s.db"]
            + ["--data", "{tmp}/typo"],
            "--data {tmp}/typo: not a folder",
            id="privacy-export",
        ),
    ],
)
def test_a_data_folder_that_is_not_there_is_refused_by_every_command_reading_it(
    tmp_path: Path, command: list[str], said: str
) -> None:
    # Adversarial pass: `serve` with MEMBERGRAPH_DATA mistyped started, saying "loaded from"
    # the folder that is not there (and the store kept that name), and `export --data` or
    # `privacy export --data` answered from the store as it was: the old data, exit 0.
    (tmp_path / "s.db").touch()
    with socket.socket() as taken:  # (were it not refused, serve would stop here, not serve)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = [part.format(tmp=tmp_path, port=port) for part in command]
        env = {"MEMBERGRAPH_DATA": str(tmp_path / "typo")} if "--data" not in args else {}
        result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert said.format(tmp=tmp_path) in " ".join(result.output.split())
    assert not (tmp_path / "x.csv").exists()
    assert (tmp_path / "s.db").stat().st_size == 0, "the store was not opened"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        pytest.param(
            ["serve", "--no-open", "--data", "{tmp}/exports[old]"],
            "--data {tmp}/exports[old]: not a folder",
            id="serve-data",
        ),
        pytest.param(
            ["export", "--out", "{tmp}/nope[bold]/x.csv"],
            "no folder {tmp}/nope[bold]",
            id="export-out",
        ),
    ],
)
def test_a_path_holding_brackets_is_named_as_typed(
    tmp_path: Path, command: list[str], said: str
) -> None:
    # Adversarial pass: the messages went through rich's markup, which took "[old]" for a
    # style tag and dropped it: "--data /tmp/exports: not a folder" named another folder.
    (tmp_path / "exports").mkdir()  # (the folder the message named instead)
    result = runner.invoke(app, [p.format(tmp=tmp_path) for p in command], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert said.format(tmp=tmp_path) in result.output


def test_commands_run_by_a_user_id_the_system_does_not_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Adversarial pass: in a container run as a user id its image does not list (no USER
    # variable, no passwd entry), `export` and `privacy export` stopped with a KeyError
    # traceback from getpass.getuser(); `privacy export` then never exited (its store open).
    import pwd

    from membergraph.demo import write_demo_data

    write_demo_data(tmp_path / "data", 10)
    store = f"sqlite:///{tmp_path / 's.db'}"
    assert (
        runner.invoke(app, ["load", "--data", str(tmp_path / "data"), "--to", store]).exit_code == 0
    )
    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)

    def unnamed(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", unnamed)
    exported = runner.invoke(app, ["export", "--store", store, "--out", str(tmp_path / "x.csv")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "x.csv").read_text().startswith("member_id,")
    asked = runner.invoke(app, ["privacy", "export", "m_nobody", "--store", store])
    assert asked.exit_code == 1 and "no member m_nobody" in asked.output, asked.output


def test_a_file_no_source_reads_beside_the_sources_is_said(tmp_path: Path) -> None:
    # user32b: mobile_app.jsonl beside crm.jsonl was never read, and never said
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text('{"contact_id": "C-1", "emails": ["ann@mail-example.org"]}\n')
    (data / "mobile_app.jsonl").write_text('{"event": "screen"}\n')
    (data / "truth.jsonl").write_text("{}\n")  # the demo's answer key: read by none, known
    result = runner.invoke(
        app, ["load", "--data", str(data), "--to", f"sqlite:///{tmp_path / 's.db'}"]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "mobile_app.jsonl not read: no source reads it" in said
    assert "truth.jsonl" not in said and ": 1 members" in said
