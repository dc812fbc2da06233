"""Consent over HTTP: pushed CRM snapshots and web choices, in any order, answer the newest
change, with its history; reachableChannels follow at once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql

CONTACT = {
    "contact_id": "C-ADA",
    "first_name": "Ada",
    "last_name": "Byron",
    "emails": ["ada.byron@mail.com"],
    "phones": ["+1 415 555 0142"],
    "consents": {"email": True, "sms": True},
    "updated_at": "2026-10-01T00:00:00Z",
}
LOGIN = {
    "event_id": "E-ADA-1",
    "anonymous_id": "a-ada",
    "user_id": "C-ADA",
    "type": "identify",
    "name": "Logged In",
    "occurred_at": "2026-10-02T00:00:00Z",
}
UNSUBSCRIBED = {
    "event_id": "E-ADA-2",
    "anonymous_id": "a-ada",
    "type": "track",
    "name": "Unsubscribed",
    "occurred_at": "2026-10-05T00:00:00Z",
    "properties": {"channel": "email"},
}
# An address change: the CRM sends its whole snapshot again, still saying email: true.
MOVED = {**CONTACT, "address": {"line1": "1 New St"}, "updated_at": "2026-10-09T00:00:00Z"}

QUERY = """{ memberByIdentifier(kind: CRM_ID, value: "C-ADA") {
  consents { channel granted source line at history { granted source line at } }
  reachableChannels } }"""


def _email(client: TestClient) -> tuple[dict[str, object], list[str]]:
    member = gql(client, QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    email = next(c for c in member["consents"] if c["channel"] == "EMAIL")
    return email, member["reachableChannels"]


def test_a_crm_snapshot_repeating_true_does_not_undo_an_unsubscribe(client: TestClient) -> None:
    for source, line in [("crm", CONTACT), ("web_analytics", LOGIN)]:
        assert client.post(f"/ingest/{source}", json=[line]).status_code == 200
    assert _email(client)[1] == ["EMAIL", "SMS"]
    client.post("/ingest/web_analytics", json=[UNSUBSCRIBED])
    assert client.post("/ingest/crm", json=[MOVED]).json()["lines"][0]["status"] == "updated"
    email, reachable = _email(client)
    assert (email["granted"], email["source"], email["line"]) == (False, "WEB_ANALYTICS", "E-ADA-2")
    assert [(h["source"], h["granted"]) for h in email["history"]] == [  # type: ignore[union-attr]
        ("CRM", True),
        ("WEB_ANALYTICS", False),
    ]
    assert reachable == ["SMS"]


def test_lines_arriving_out_of_order_answer_as_if_sorted(client: TestClient) -> None:
    resubscribed = {**CONTACT, "consents": {"email": True}, "updated_at": "2026-10-20T00:00:00Z"}
    dropped = {**CONTACT, "consents": {"email": False}, "updated_at": "2026-10-10T00:00:00Z"}
    # Sorted: true (1st), unsubscribed (5th), false (10th), true again (20th): a real change.
    client.post("/ingest/web_analytics", json=[LOGIN, UNSUBSCRIBED])
    assert client.post("/ingest/crm", json=[resubscribed]).status_code == 200
    late = client.post("/ingest/crm", json=[dropped, CONTACT]).json()["lines"]
    assert [line["status"] for line in late] == ["stale", "stale"]
    email, reachable = _email(client)
    assert (email["granted"], email["source"], email["at"]) == (
        True,
        "CRM",
        "2026-10-20T00:00:00+00:00",
    )
    assert [h["granted"] for h in email["history"]] == [True, False, False, True]  # type: ignore[union-attr]
    assert "EMAIL" in reachable


def _serve_with(settings: Settings, crm_lines: list[dict[str, object]]) -> TestClient:
    """The gateway over a data folder whose CRM file also holds ``crm_lines``."""
    assert settings.data is not None
    with (settings.data / "crm.jsonl").open("ab") as crm:
        crm.write(b"".join(orjson.dumps(line) + b"\n" for line in crm_lines))
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


def test_a_pushed_snapshot_does_not_undo_an_unsubscribe_of_a_loaded_contact(
    settings: Settings,
) -> None:
    # Given a contact loaded from the data folder (never pushed) who unsubscribed on the web
    with _serve_with(settings, [CONTACT]) as client:
        client.post("/ingest/web_analytics", json=[LOGIN, UNSUBSCRIBED])
        assert _email(client)[1] == ["SMS"]
        # When the CRM pushes her address change, still saying email: true
        assert client.post("/ingest/crm", json=[MOVED]).json()["lines"][0]["status"] == "updated"
        email, reachable = _email(client)
    # Then the unsubscribe stands, and her folder version's choice stays in the history
    assert (email["granted"], email["source"]) == (False, "WEB_ANALYTICS")
    assert [(h["source"], h["at"]) for h in email["history"]] == [  # type: ignore[union-attr]
        ("CRM", "2026-10-01T00:00:00+00:00"),
        ("WEB_ANALYTICS", "2026-10-05T00:00:00+00:00"),
    ]
    assert reachable == ["SMS"]


def test_an_older_version_in_the_folder_still_counts_as_a_choice(settings: Settings) -> None:
    # Given a folder holding both versions of a contact, the snapshot repeat last, and her
    # unsubscribe between them
    with _serve_with(settings, [CONTACT, MOVED]) as client:
        client.post("/ingest/web_analytics", json=[LOGIN, UNSUBSCRIBED])
        email, reachable = _email(client)
    # Then the repeat is no new choice: the unsubscribe stands
    assert (email["granted"], email["source"]) == (False, "WEB_ANALYTICS")
    assert [h["granted"] for h in email["history"]] == [True, False]  # type: ignore[union-attr]
    assert reachable == ["SMS"]


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({"channel": "email", "granted": "false"}, id="granted-as-a-string"),
        pytest.param({"channel": " Email ", "granted": False}, id="channel-spaced-and-cased"),
        pytest.param({"channel": "EMAIL", "granted": "No"}, id="granted-as-no"),
    ],
)
def test_an_opt_out_written_as_tools_write_it_is_an_opt_out(
    client: TestClient, properties: dict[str, object]
) -> None:
    # Given her e-mail consent from the CRM and her visitor
    for source, line in [("crm", CONTACT), ("web_analytics", LOGIN)]:
        assert client.post(f"/ingest/{source}", json=[line]).status_code == 200
    # When an analytics tool sends her opt-out with a string boolean or a spaced channel
    withdrawn = {**UNSUBSCRIBED, "name": "Consent Updated", "properties": properties}
    assert client.post("/ingest/web_analytics", json=[withdrawn]).status_code == 200
    # Then it is her choice, and she is no longer reached by e-mail
    email, reachable = _email(client)
    assert (email["granted"], email["source"]) == (False, "WEB_ANALYTICS")
    assert reachable == ["SMS"]


UNREADABLE = [
    pytest.param({"channel": "e-mial"}, "Unsubscribed", "'e-mial'", id="misspelt-channel"),
    pytest.param({"channel": "whatsapp"}, "Unsubscribed", "'whatsapp'", id="unknown-channel"),
    pytest.param({"channel": 7}, "Unsubscribed", "7", id="channel-a-number"),
    pytest.param(
        {"channel": "email", "granted": "maybe"}, "Consent Updated", "'maybe'", id="granted-maybe"
    ),
]


@pytest.mark.parametrize(("properties", "name", "said"), UNREADABLE)
def test_an_opt_out_whose_channel_cannot_be_read_is_refused_alone(
    client: TestClient, properties: dict[str, object], name: str, said: str
) -> None:
    # Given her e-mail consent from the CRM and her visitor
    for source, line in [("crm", CONTACT), ("web_analytics", LOGIN)]:
        assert client.post(f"/ingest/{source}", json=[line]).status_code == 200
    # When an analytics tool sends an opt-out nobody can read, beside a good page view
    unreadable = {**UNSUBSCRIBED, "name": name, "properties": properties}
    page = {**LOGIN, "event_id": "E-ADA-PAGE", "type": "page", "name": "Home"}
    answer = client.post("/ingest/web_analytics", json=[page, unreadable])
    # Then that line alone is refused, with a code and a message naming what it said
    assert answer.status_code == 207, answer.text
    taken, refused = answer.json()["lines"]
    assert taken["status"] == "created"
    assert (refused["status"], refused["code"]) == ("rejected", "UNREADABLE_CONSENT")
    assert said in refused["error"] and "properties." in refused["error"], refused["error"]
    # and her consent is what it was: nothing pretended to be her choice
    email, reachable = _email(client)
    assert (email["granted"], email["source"]) == (True, "CRM")
    assert reachable == ["EMAIL", "SMS"]


def test_a_hyphenated_channel_is_read(client: TestClient) -> None:
    for source, line in [("crm", CONTACT), ("web_analytics", LOGIN)]:
        assert client.post(f"/ingest/{source}", json=[line]).status_code == 200
    hyphenated = {**UNSUBSCRIBED, "properties": {"channel": " E-Mail "}}
    assert client.post("/ingest/web_analytics", json=[hyphenated]).status_code == 200
    assert _email(client)[1] == ["SMS"]


BAD_OPT_OUT = {**UNSUBSCRIBED, "event_id": "E-ADA-BAD", "properties": {"channel": "e-mial"}}


def test_a_folder_opt_out_whose_channel_cannot_be_read_is_named_at_start(
    settings: Settings,
) -> None:
    # Given a data folder whose web file ends with her login and an unreadable opt-out
    assert settings.data is not None
    web = settings.data / "web_analytics.jsonl"
    good = len(web.read_bytes().splitlines())
    with web.open("ab") as handle:
        handle.write(orjson.dumps(LOGIN) + b"\n" + orjson.dumps(BAD_OPT_OUT) + b"\n")
    # When the gateway starts over it
    with _serve_with(settings, [CONTACT]) as client:
        ready = client.get("/readyz").json()["sources"]["web_analytics"]
        email, reachable = _email(client)
    # Then the opt-out is skipped and named with its place, the login beside it is taken
    assert ready["malformed"] == 1
    assert ready["errors"][0].startswith(f"web_analytics.jsonl:{good + 2}: properties.channel")
    assert (email["granted"], reachable) == (True, ["EMAIL", "SMS"])


def test_load_refuses_an_opt_out_whose_channel_cannot_be_read(tmp_path: Path) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from membergraph.cli import app

    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(CONTACT) + b"\n")
    (data / "web_analytics.jsonl").write_bytes(
        orjson.dumps(LOGIN) + b"\n" + orjson.dumps(BAD_OPT_OUT) + b"\n"
    )
    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    result = CliRunner().invoke(app, ["load", "--data", str(data), "--to", url])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "loaded.db") as db:
        kept = {row[0] for row in db.execute("SELECT line_id FROM source_lines")}
    assert {"C-ADA", "E-ADA-1"} <= kept and "E-ADA-BAD" not in kept


@pytest.mark.parametrize(
    "consents",
    [
        pytest.param({"email": True, "e-mial": False}, id="misspelt-channel"),
        pytest.param({"whatsapp": False}, id="unknown-channel"),
    ],
)
def test_a_crm_contact_whose_consent_channel_cannot_be_read_is_refused_alone(
    client: TestClient, consents: dict[str, object]
) -> None:
    # Given her contact with e-mail consent
    assert client.post("/ingest/crm", json=[CONTACT]).status_code == 200
    # When the CRM sends her next version with a consent on a channel nobody can read,
    # beside another contact
    other = {**CONTACT, "contact_id": "C-OTHER", "emails": ["other.one@mail.com"]}
    withdrawn = {**MOVED, "consents": consents}
    answer = client.post("/ingest/crm", json=[other, withdrawn])
    # Then that line alone is refused, with a code and the channel it named
    assert answer.status_code == 207, answer.text
    taken, refused = answer.json()["lines"]
    assert taken["status"] == "created"
    assert (refused["status"], refused["code"]) == ("rejected", "UNREADABLE_CONSENT")
    unknown = next(name for name in consents if name != "email")
    assert f"consents: {unknown!r}" in refused["error"], refused["error"]
    # and her consent is what it was
    email, _ = _email(client)
    assert (email["granted"], email["at"]) == (True, "2026-10-01T00:00:00+00:00")


def test_load_and_a_start_refuse_a_crm_contact_whose_consent_channel_cannot_be_read(
    settings: Settings, tmp_path: Path
) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from membergraph.cli import app

    bad = {**MOVED, "contact_id": "C-BAD", "consents": {"e-mial": False}}
    data = tmp_path / "only"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(CONTACT) + b"\n" + orjson.dumps(bad) + b"\n")
    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    result = CliRunner().invoke(app, ["load", "--data", str(data), "--to", url])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "loaded.db") as db:
        kept = {row[0] for row in db.execute("SELECT line_id FROM source_lines")}
    assert "C-ADA" in kept and "C-BAD" not in kept
    assert settings.data is not None
    crm = settings.data / "crm.jsonl"
    good = len(crm.read_bytes().splitlines())
    with _serve_with(settings, [bad]) as client:
        ready = client.get("/readyz").json()["sources"]["crm"]
    # (named without the key it names: /readyz quotes no value of a line)
    assert ready["errors"][-1].startswith(f"crm.jsonl:{good + 1}: consents: *** is no"), ready
