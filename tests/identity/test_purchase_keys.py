"""A purchase record's key, one scheme: the key a till's or an online order's line makes is
the key a steward typing the card or e-mail names (``RecordRefInput``), and the identifier
that key names is the one the record is made of."""

from __future__ import annotations

import pytest

from membergraph.identity.line_records import (
    purchase_identifier,
    purchase_key,
    transaction_record,
    typed_record_key,
)
from membergraph.identity.normalize import IdentifierKind


@pytest.mark.parametrize(
    ("card", "email", "channel", "typed"),
    [
        pytest.param("LD-1111-0001", None, "store", "loyalty:ld-1111-0001", id="card-dashes"),
        pytest.param("ld11110001", "ann@mail.org", "store", " Loyalty :LD11110001", id="card"),
        pytest.param(None, "Ann@Mail.ORG", "online", "online: ann@mail.org", id="e-mail"),
        pytest.param(None, "ann.lee@gmail.com", "online", "online:Ann.Lee@Gmail.com", id="gmail"),
    ],
)
def test_a_typed_key_names_the_record_its_line_made(
    card: str | None, email: str | None, channel: str, typed: str
) -> None:
    # Given the record a purchase line makes
    made = transaction_record(card, email, channel)
    assert made is not None
    key, identifiers = made
    # When a steward types its card or e-mail as she reads it
    named = typed_record_key("transactions", typed)
    # Then she names that record, and the identifier its key names is one of the record's
    assert named == key
    made_of = purchase_identifier(key)
    assert made_of is not None and purchase_key(made_of) == key
    assert (made_of.kind, made_of.key) in {(i.kind, i.key) for i in identifiers}
    kind = IdentifierKind.LOYALTY_ID if card else IdentifierKind.EMAIL
    assert made_of.kind is kind


@pytest.mark.parametrize(
    ("source", "typed"),
    [
        pytest.param("transactions", "loyalty:", id="no-card"),
        pytest.param("transactions", "online:not-an-address", id="no-e-mail"),
        pytest.param("transactions", "gift:LD11110001", id="other-form"),
        pytest.param("crm", "loyalty:ld-1111-0001", id="other-source"),
    ],
)
def test_a_key_naming_no_card_or_e_mail_is_taken_as_typed(source: str, typed: str) -> None:
    assert typed_record_key(source, typed) == typed
    if source == "transactions":
        assert purchase_identifier(typed) is None
