"""Masking personal data for callers without ``pii:read``: by what a value means where
its meaning is known (a field, an identifier's kind, a record key's form, an evidence's
identifier), by its look where it is not (free text, event properties)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "PHONE_IN_TEXT",
    "MASKS",
    "Meaning",
    "mask_as",
    "mask_email",
    "mask_evidence",
    "mask_in_text",
    "mask_phone",
    "mask_record_key",
    "mask_text",
    "mask_value",
    "meaning_of_kind",
]

_PHONE = re.compile(r"^\+?\(?\d[\d\s().\-]{6,}$")
# Each tried where a run starts only (the lookbehinds): tried at every position of a run,
# a 64 KiB run of letters before an @, or of spaces, took quadratic time (40 s for one value).
# (A link's query, ``?e=ann@mail.org&x=1``, holds it between an = and an &.)
_EMAIL_IN = re.compile(r"(?<![^\s:@=])[^\s:@=]+@[^\s@&]+")
PHONE_IN_TEXT = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")
"""A run of digits a phone may be written as, within a text (seven digits or more)."""
# In a message: not the digits of an id they are part of (``crm:C0000029``, ``LD23393682``,
# ``BSM-1234567``): a letter, a digit, an ``_`` or a ``-`` just before a run says so.
_PHONE_IN_MESSAGE = re.compile(r"(?<![\w\-])" + PHONE_IN_TEXT.pattern)
# A date, perhaps with its time's hour after a space (``2026-11-02 10:00``: the run of
# digits stops at the colon), is no phone.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:\s\d{1,2})?")
_DECIMAL = re.compile(r"\d+\.\d+")
# (A phone's extension may follow it: ``(415) 555-0199x12``, ``... ext. 12``.)
_PHONE_AMONG_WORDS = re.compile(
    r"(?<![\w+(\-.])\+?\(?\d[\d\s().\-]{5,}\d(?:(?![\w\-.])|(?=\s?(?:x|ext\.?)\s?\d))"
)
# What hides an e-mail or a phone from a look but not from a reader: characters no one sees
# (a zero-width space, a bidi mark or isolate, a soft hyphen, a tag character), which
# identity strips from an e-mail too, and an @ written full-width or with spaces around it
# (``ann @ mail.org``, which identity reads as ``ann@mail.org``), or percent-encoded in a
# link (``?email=ann%40mail.org``, as tracking links carry it). Read away before looking.
_UNSEEN = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)
# Also an @ a page's source or a link wrote for a reader (``&#64;``, ``&commat;``, a link
# encoded twice: ``%2540``), and an address spelled out against harvesters
# (``jane (at) doe-family [dot] net``), which a reader reads as one.
_LOOSE_AT = re.compile(
    r"(?<!\s)\s*(?:[@\uff20\ufe6b]|%(?:25)*40|&#0*64;|&#[xX]0*40;|&commat;)\s*"
    r"(?=[^\s@]+\.[^\s@]+)"
)
_BRACKETED = r"\s*[(\[{<]\s*WORD\s*[)\]}>]\s*"
_SPELLED_EMAIL = re.compile(
    r"(?<![^\s:=<(\[])([\w.+\-]+)"
    + _BRACKETED.replace("WORD", "at")
    + r"((?:[\w\-]+(?:\.|"
    + _BRACKETED.replace("WORD", "dot")
    + r"))+[a-z]{2,})\b",
    re.IGNORECASE,
)
_SPELLED_DOT = re.compile(_BRACKETED.replace("WORD", "dot"), re.IGNORECASE)
# Whether a text may hold any of these: the look most texts are let go at.
_HIDDEN_AT = re.compile(r"%25|%40|&#|&commat;|at\s*[)\]}>]", re.IGNORECASE)
# A visitor record's key names the e-mail its events carry by a digest of it
# (``a-1|email:8fd157afe468f2d8``, connectors.models.EMAIL_MARK): anyone can check a guess
# against a plain digest, and the masked e-mail beside it (c***@gmail.com) narrows the guess
# to a dictionary's worth. Masked wherever an e-mail is.
_EMAIL_DIGEST = re.compile(r"\|email:[0-9a-f]+")
_DIGEST_MASKED = "|email:***"
# Keys of JSON values (evidence, event properties) that hold a person's free text: a
# steward's reason for a manual link can name anyone, so it is masked whole.
_FREE_TEXT_KEYS = frozenset({"reason"})


def mask_email(value: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else mask_text(value)


def mask_phone(value: str) -> str:
    """``+14155550134`` -> ``***-0134``."""
    digits = [c for c in value if c.isdigit()]
    return "***-" + "".join(digits[-4:]) if len(digits) >= 4 else "***"


def mask_text(value: str) -> str:
    """Anything else personal: only that something is there."""
    return "***" if value else value


def mask_value(value: Any, text: bool = False) -> Any:
    """Mask e-mails and phone numbers anywhere in a value (strings, lists, JSON objects);
    with ``text``, every string whole (an address line, a steward's reason), as a JSON
    object's ``reason`` always is: the words around an e-mail (a name) are personal too.

    This finds personal data by its look: it serves values of no fixed meaning (evidence,
    event properties, an error message). A field whose meaning is known is masked by it
    (:data:`Meaning`), whatever its spelling."""
    if isinstance(value, str):
        if text:
            return mask_text(value)
        value = _plain(value)
        if "loyalty:" in value and _CARD_KEY.search(value):
            return _around_cards(value, mask_value)
        if "|email:" in value:
            value = _EMAIL_DIGEST.sub(_DIGEST_MASKED, value)
        if "@" in value:
            value = _EMAIL_IN.sub(lambda m: mask_email(m.group(0)), value)
        elif _PHONE.match(value):
            return mask_phone(value)
        # A phone among words ("call me at 415-555-0199"), not a card's or an id's digits.
        return _PHONE_AMONG_WORDS.sub(_phone_or_as_is, value) if _has_digits(value) else value
    if isinstance(value, list | tuple):
        return [mask_value(v, text) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v, text or k in _FREE_TEXT_KEYS) for k, v in value.items()}
    return (
        None if text and value is not None and not isinstance(value, bool | int | float) else value
    )


def _has_digits(value: str) -> bool:
    return sum(c.isdigit() for c in value) >= 7


def _phone_or_as_is(match: re.Match[str]) -> str:
    """A run of digits masked when it may be a phone: 7 to 15 digits (E.164's longest), no
    date, no decimal number; or a payment card's number (:func:`_card`)."""
    run = match.group(0)
    digits = sum(c.isdigit() for c in run)
    if _card(run, digits):
        return mask_phone(run)
    if not 7 <= digits <= 15 or _DATE.fullmatch(run.strip()) or _DECIMAL.fullmatch(run):
        return run
    return mask_phone(run)


def _card(run: str, digits: int) -> bool:
    """A payment card's number (13 to 19 digits whose Luhn check holds) as an agent or a
    form types it (``4111 1111 1111 1111``): shown by its last four, as a receipt shows it."""
    if not 13 <= digits <= 19 or not set(run) <= _CARD_CHARACTERS:
        return False
    total = 0
    for i, c in enumerate(reversed([c for c in run if c.isdigit()])):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_CARD_CHARACTERS = frozenset("0123456789 -")


def mask_in_text(text: str) -> str:
    """``text`` with every e-mail and phone number in it masked, the other words kept: for
    a message that may repeat what a caller typed (``'ann@example.com' is not a phone
    number``) written where no caller's scopes decide, such as the log. A run of digits is
    a phone when it holds 7 to 15 of them (E.164's longest), is not a date, and is no part
    of an id (``crm:C0000029``: a letter, digit, ``_`` or ``-`` just before it)."""

    def phone(match: re.Match[str]) -> str:
        run = match.group(0)
        digits = sum(c.isdigit() for c in run)
        if _card(run, digits):
            return mask_phone(run)
        if not 7 <= digits <= 15 or _DATE.fullmatch(run.strip()):
            return run
        return mask_phone(run)

    text = _plain(text)
    if "loyalty:" in text and _CARD_KEY.search(text):
        return _around_cards(text, mask_in_text)
    text = _EMAIL_DIGEST.sub(_DIGEST_MASKED, text)
    return _PHONE_IN_MESSAGE.sub(phone, _EMAIL_IN.sub(lambda m: mask_email(m.group(0)), text))


def _is_record(value: list[Any] | tuple[Any, ...]) -> bool:
    """A record as evidence names one: ``[source, key]`` (a rekeying's ``[source, old, new]``)."""
    return (
        len(value) >= 2
        and isinstance(value[0], str)
        and value[0] in _SOURCES
        and all(isinstance(v, str | None) for v in value[1:])
    )


def _around_cards(text: str, mask: Callable[[str], Any]) -> str:
    """``text`` masked by ``mask`` around the cards its record keys name, kept as they are."""
    shown, at = [], 0
    for match in _CARD_KEY.finditer(text):
        shown += [str(mask(text[at : match.start()])), match.group(0)]
        at = match.end()
    return "".join([*shown, str(mask(text[at:]))])


def _plain(value: str) -> str:
    """``value`` as a reader sees it: unseen characters gone, a loose ``@`` joined."""
    if value.isascii() and "@" not in value and not _HIDDEN_AT.search(value):
        return value
    value = _LOOSE_AT.sub("@", _UNSEEN.sub("", value))
    return _SPELLED_EMAIL.sub(_spelled, value)


def _spelled(match: re.Match[str]) -> str:
    return f"{match.group(1)}@{_SPELLED_DOT.sub('.', match.group(2))}"


_SOURCES = frozenset({"crm", "transactions", "web_analytics", "call_center"})
# A card in a record key or a message (``transactions:loyalty:8685735602799``): a key by
# design, not a phone, however many digits it holds (cards are upper case, no separators).
_CARD_KEY = re.compile(r"(?<![\w\-])loyalty:[A-Z0-9]+")


def mask_record_key(key: str) -> str:
    """A record key as a caller without ``pii:read`` sees it, by its form, never by its look
    (identity.line_records): an online customer's key is their e-mail
    (``online:j***@example.com``), a visitor's may name one by its digest
    (``a-1|email:***``); a card (``loyalty:8685735602799``), a contact, visitor or call id
    is a key by design (docs/security.md), shown as it is. A key written after its source
    (``transactions:online:j***@example.com``, as errors name records) is read alike."""
    source, colon, rest = key.partition(":")
    if colon and source in _SOURCES:
        return f"{source}:{mask_record_key(rest)}"
    prefix, colon, rest = key.partition(":")
    if prefix == "online" and colon:
        return f"online:{mask_email(rest)}"
    if prefix == "loyalty" and colon:
        return key
    return _EMAIL_DIGEST.sub(_DIGEST_MASKED, key) if "|email:" in key else key


def meaning_of_kind(kind: Any) -> Meaning:
    """How a value of an identifier kind (``EMAIL``, ``LOYALTY_ID``; an agent's typed
    ``email``, ``loyalty_id``) is masked: an e-mail or a phone as one, a card, CRM id or
    visitor id not at all (a key by design), whatever it looks like; an unknown kind by its
    look."""
    return _KIND_MEANING.get(str(getattr(kind, "value", kind)).upper(), "found")


_KIND_MEANING: dict[str, Meaning] = {
    "EMAIL": "email",
    "PHONE": "phone",
    "LOYALTY_ID": "id",
    "CRM_ID": "id",
    "ANONYMOUS_ID": "id",
}


def mask_evidence(value: Any) -> Any:
    """Identity evidence (JSON of no fixed shape) masked by what its parts say they are: an
    identifier (``{"kind": "LOYALTY_ID", "value": ...}``) by its kind, a limit's values by
    the limit's kind, a record (``["transactions", "loyalty:..."]``) as a record key, a
    steward's ``reason`` whole; anything else by its look (:func:`mask_value`)."""
    if isinstance(value, dict):
        # An identifier's value by its kind; a limit's values by the limit's kind.
        kinds = {"value": value.get("kind"), "values": value.get("limit")}
        shown: dict[str, Any] = {}
        for k, v in value.items():
            kind = kinds.get(k)
            if k in _FREE_TEXT_KEYS:
                shown[k] = mask_value(v, text=True)
            elif isinstance(kind, str) and meaning_of_kind(kind) != "found":
                shown[k] = mask_as(meaning_of_kind(kind), v)
            else:
                shown[k] = mask_evidence(v)
        return shown
    if isinstance(value, list | tuple):
        if _is_record(value):
            return [value[0], *(v if v is None else mask_record_key(v) for v in value[1:])]
        return [mask_evidence(v) for v in value]
    return mask_value(value)


def _mask_contact(value: str) -> str:
    return mask_email(value) if "@" in value else mask_phone(value)


Meaning = str
"""What a masked field holds, which decides how it is masked:

=========  =================================================================
email      an e-mail: ``j***@example.com``, however it is written
phone      a phone: ``***-0134``, however it is written (``(312) 925-7392``)
contact    an e-mail or a phone (a contact point)
key        a record key (:func:`mask_record_key`)
id         a card, CRM id or visitor id: a key by design, shown as it is
evidence   identity evidence (:func:`mask_evidence`)
text       a name, an address line, a birth date, free text: ``***`` (null if not text)
found      no fixed meaning (JSON evidence, event properties): :func:`mask_value`
=========  =================================================================
"""

MASKS: dict[Meaning, Callable[[Any], Any]] = {
    "email": lambda v: mask_email(v) if isinstance(v, str) else mask_value(v),
    "phone": lambda v: mask_phone(v) if isinstance(v, str) else mask_value(v),
    "contact": lambda v: _mask_contact(v) if isinstance(v, str) else mask_value(v),
    "key": lambda v: mask_record_key(v) if isinstance(v, str) else mask_value(v),
    "id": lambda v: v,
    "evidence": mask_evidence,
    "text": lambda v: mask_value(v, text=True),
    "found": mask_value,
}


def mask_as(meaning: Meaning, value: Any) -> Any:
    """Mask ``value`` as what it means (lists item by item)."""
    if isinstance(value, list | tuple) and meaning not in ("found", "evidence"):
        return [mask_as(meaning, v) for v in value]
    if value is None or value == "":
        return value
    return MASKS[meaning](value)
