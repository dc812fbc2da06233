"""An erasure leaves no line naming the person in the data folder, whether or not the line
validates: a second version of her contact with ``emails`` written as a string, a purchase
whose ``status`` is ``COMPLETE``, a call lasting -1 s, a line cut in the middle. No load took
them, so no store holds them, but the folder would still give her away (user30, finding 1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.identity.normalize import IdentifierKind
from membergraph.privacy.her_values import HerValues

runner = CliRunner()

EMAIL = "erin.erased@mail-example.org"
CARD = "LD44440001"
HER = {
    "contact_id": "E-1",
    "first_name": "Erin",
    "last_name": "Erased",
    "emails": [EMAIL],
    "phones": ["+1 415 555 0142"],
    "loyalty_id": CARD,
    "updated_at": "2026-01-01T00:00:00Z",
}
OTHER = {
    "contact_id": "O-1",
    "first_name": "Olaf",
    "last_name": "Other",
    "emails": ["olaf.other@mail-example.org"],
    "updated_at": "2026-01-01T00:00:00Z",
}


def _purchase(line_id: str, **fields: object) -> dict[str, object]:
    return {
        "transaction_id": line_id,
        "loyalty_id": CARD,
        "email": EMAIL,
        "channel": "store",
        "occurred_at": "2026-03-03T10:00:00Z",
        "amount_cents": 100,
        "status": "completed",
    } | fields


# Her lines no load takes, each naming her another way.
HERS_INVALID = [
    json.dumps(HER | {"emails": EMAIL, "updated_at": "2026-02-01T00:00:00Z"}),  # her id
    json.dumps(_purchase("ET-3", status="COMPLETE")),  # her card and e-mail
    json.dumps(_purchase("ET-4", email=42, amount_cents=250)),  # her card; the copy validates
    json.dumps(
        {  # her phone as an agent's tool writes it, and her name in the notes
            "interaction_id": "EI-1",
            "caller_phone": "(415) 555-0142",
            "started_at": "2026-03-03T10:00:00Z",
            "duration_s": -1,
            "notes": "Erin Erased asked about her points",
        }
    ),
    '{"interaction_id": "EI-2", "notes": "call back erin.erased\\u0040mail-example.org", "sta',
    "EI-3;415.555.0142;called twice",  # no JSON at all: her phone in its text
]
OTHERS_INVALID = [
    json.dumps(OTHER | {"emails": "olaf.other@mail-example.org", "contact_id": "O-2"}),
    json.dumps(_purchase("OT-1", loyalty_id="LD77770001", email=None, status="DONE")),
    '{"interaction_id": "OI-1", "caller_phone": "+1 415 555 0199", "sta',
]


def test_an_erasure_removes_her_lines_that_fail_validation_and_says_how_many(
    tmp_path: Path,
) -> None:
    # Given a folder holding her valid lines, her lines that fail validation, and another
    # person's lines, valid and not, loaded into a store
    data = tmp_path / "data"
    data.mkdir()
    crm, purchase, card_only, call, cut, text = HERS_INVALID
    other_crm, other_purchase, other_call = OTHERS_INVALID
    files = {
        "crm.jsonl": [json.dumps(HER), crm, json.dumps(OTHER), other_crm],
        "transactions.jsonl": [json.dumps(_purchase("ET-1")), purchase, card_only, other_purchase],
        "call_center.jsonl": [call, cut, text, other_call],
    }
    for name, lines in files.items():
        (data / name).write_text("".join(f"{line}\n" for line in lines))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    with sqlite3.connect(tmp_path / "store.db") as db:
        [(member,)] = db.execute("SELECT member_id FROM records WHERE key = 'E-1'")

    # When she is erased
    erased = runner.invoke(
        app,
        ["privacy", "erase", member, "--reason", "DPO-9", "--store", store, "--data", str(data)],
    )

    # Then every line naming her left the folder, the answer counts those that failed
    # validation, another person's lines stayed as they were, and her purchase whose only
    # fault was her e-mail stays for the books without what identifies her
    assert erased.exit_code == 0, erased.output
    counts = json.loads(erased.output)["counts"]
    assert counts["lines_invalid"] == len(HERS_INVALID)
    folder = "".join((data / name).read_text() for name in files)
    for trace in ("E-1", "Erin", "Erased", "erin.erased", "0142", "LD4444", "ET-3", "ET-4", "EI-"):
        assert trace not in folder
    for line in (json.dumps(OTHER), *OTHERS_INVALID):
        assert line in folder.splitlines()
    books = [json.loads(line) for line in (data / "transactions.jsonl").read_text().splitlines()]
    assert sorted(line["amount_cents"] for line in books if line.get("anonymised")) == [100, 250]


HER_VALUES = HerValues(
    {
        (IdentifierKind.EMAIL, "erinerased@gmail.com"),
        (IdentifierKind.PHONE, "+14155550142"),
        (IdentifierKind.LOYALTY_ID, "LD44440001"),
        (IdentifierKind.CRM_ID, "E-1"),
        (IdentifierKind.CRM_ID, "C-4444"),
        (IdentifierKind.CRM_ID, "C0000042"),
        (IdentifierKind.ANONYMOUS_ID, "dev-7f3a"),
    },
    ["E-1", "C-4444", "erin.erased@gmail.com", "loyalty:LD44440001", "5 Elm St, Springfield"],
    [("Erin", "Erased")],
)


@pytest.mark.parametrize(
    ("line", "hers"),
    [
        pytest.param('{"contact_id": "E-1", "emails": "x"}', True, id="contact-id"),
        pytest.param('{"email": "Erin.Erased+shop@googlemail.com"}', True, id="gmail-as-typed"),
        pytest.param('{"caller_phone": "1-415-555-0142"}', True, id="phone-as-typed"),
        pytest.param('{"caller_phone": 4155550142}', True, id="phone-as-number"),
        pytest.param('{"loyalty_id": "ld-4444-0001", "status": 3}', True, id="card-as-typed"),
        pytest.param('{"x": {"y": ["dev-7f3a"]}}', True, id="visitor-deep"),
        pytest.param('{"notes": "ERIN  erased called"}', True, id="name-in-text"),
        pytest.param('{"notes": "card LD 4444 0001 lost"}', True, id="card-in-text"),
        pytest.param('{"notes": "lives at 5 elm st, springfield"}', True, id="address-in-text"),
        pytest.param('{"notes": "mail erin.erased@gmail.com"}', True, id="email-in-text"),
        pytest.param('{"id": "E-1", "cut', True, id="not-json-id"),
        pytest.param("E-2,(415) 555 0142,x", True, id="not-json-phone"),
        pytest.param('{"n": "erin\\u002eerased\\u0040gmail.com', True, id="not-json-escaped"),
        pytest.param(b'{"n": "Erin Erased \xff', True, id="not-utf8"),
        pytest.param('{"contact_id": "E-10", "first_name": "Erin"}', False, id="another-id"),
        pytest.param('{"caller_phone": "+1 415 555 0143"}', False, id="another-phone"),
        pytest.param('{"notes": "Erin Smith"}', False, id="first-name-alone"),
        pytest.param("garbage", False, id="not-json-other"),
        pytest.param('{"notes": "account c-4444 closed"}', True, id="contact-id-in-text"),
        pytest.param('{"account_ref": {"value": "c 42"}}', True, id="contact-id-as-typed"),
        pytest.param('{"account_ref": {"value": "0000042"}}', True, id="contact-number-alone"),
    ],
)
def test_her_values_are_found_in_a_line_however_it_writes_them(
    line: str | bytes, hers: bool
) -> None:
    raw = line if isinstance(line, bytes) else line.encode()
    assert HER_VALUES.named_in(raw) is hers
    # The look at its bytes that spares reading most lines lets each of hers through.
    assert HER_VALUES.may_name(raw) or not hers
