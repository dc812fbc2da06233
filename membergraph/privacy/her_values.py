"""Whether a source line that fails validation names the person an erasure is about.

A line no model accepts has no owner to ask (a second version of her contact with ``emails``
written as a string, a purchase whose ``status`` is ``COMPLETE``, a call lasting -1 s, a line
cut in the middle): its values are read for hers instead. :class:`HerValues` answers "yes"
when any value of the line (each string or number in it, at any depth; for a line that is not
JSON, each piece of its text) is

- one of her records' keys (contact id, card, online account, visitor, call) or of her
  identifiers (e-mails, phones, cards, contact ids, visitor ids), as given or as matched
  (case aside);
- one of her identifiers once normalized as the identity engine normalizes it: an e-mail
  with its Gmail dots or ``+tag``, a phone as ``(415) 555-0142``, a card as ``ld-4444-0001``;

or when the line's text holds one of those values as a word of its own, an e-mail or phone of
hers inside a sentence, her card or phone with any separators, her address, or both her
first and last name ("Erin Erased asked about her points").

:meth:`HerValues.may_name` says, from bytes alone, which lines need reading at all: every
value of hers, however written, leaves its ASCII letters and digits in the line in order (a
phone its national digits), or the line holds an escape or a byte beyond ASCII.

It errs on the side of removing: another person's broken line that names her value (her
family e-mail, her household phone, a namesake) goes too, and the erasure says how many
such lines went (``lines_invalid``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import phonenumbers

from membergraph.connectors.models import device_part
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import make_identifier

__all__ = ["HerValues"]

_KINDS = tuple(IdentifierKind)
_LONGEST = 320  # characters a value normalized whole may have (an e-mail has at most 254)
_PIECES = re.compile(r"[\"'\t,;|{}\[\]]+")  # what splits a line that is not JSON into values
_EMAIL = re.compile(r"[^\s\"'<>,;:()\[\]{}]+@[^\s\"'<>,;:()\[\]{}]+")
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\(.)")
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_SHORTEST = 3  # a word shorter than this is searched for only as a whole value
_COMPACT_SHORTEST = 7  # a phone's or card's digits and letters, searched without separators


_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NOT_ALNUM = bytes(b for b in range(256) if not chr(b).isalnum() or b > 127)
_NOT_DIGIT = bytes(b for b in range(256) if not (48 <= b <= 57))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def _national(phone: str) -> str:
    """A phone's national digits (``+14155550142``: ``4155550142``): in every way to write it."""
    try:
        return str(phonenumbers.parse(phone, None).national_number)
    except phonenumbers.NumberParseException:
        return _digits(phone)


def _either(needles: Iterable[str]) -> re.Pattern[bytes] | None:
    found = sorted({n.encode() for n in needles if n}, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(n) for n in found)) if found else None


def _compact(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def _unescaped(text: str) -> str:
    """JSON escapes read (a cut line still escapes ``@`` as ``\\u0040``, ``/`` as ``\\/``)."""

    def one(found: re.Match[str]) -> str:
        if found.group(1) is not None:
            return chr(int(found.group(1), 16))
        return _ESCAPED.get(found.group(2), found.group(2))

    return _ESCAPE.sub(one, text)


def _leaves(value: Any) -> Iterator[str]:
    """Every string and number in a decoded line, at any depth."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


class HerValues:
    """Her values, read from what the identity store says of her (:class:`Subject`): her
    identifiers' ``(kind, key)``, the values she is named by, and her first and last names."""

    def __init__(
        self,
        keys: Iterable[tuple[IdentifierKind, str]],
        named_by: Iterable[str],
        names: Iterable[tuple[str, str]],
        region: str = "US",
    ) -> None:
        self.keys = frozenset(keys)
        words = set()
        for value in named_by:  # a visitor's key names its device; a purchase's its card
            words |= {value, device_part(value), value.partition(":")[2]}
        self.words = frozenset(w.strip().casefold() for w in words if w.strip())
        self.names = frozenset((a.casefold(), b.casefold()) for a, b in names)
        self.region = region
        long = sorted((w for w in self.words if len(w) >= _SHORTEST), key=len, reverse=True)
        alternatives = "|".join(re.escape(w) for w in long)
        self._word = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if alternatives else None
        compact = set()
        for kind, key in self.keys:
            if kind in (IdentifierKind.PHONE, IdentifierKind.LOYALTY_ID):
                compact.add(_compact(key))
                if kind is IdentifierKind.PHONE and key.startswith("+1") and len(key) == 12:
                    compact.add(key[2:])  # a North American number written without its 1
        self._compact = tuple(c for c in compact if len(c) >= _COMPACT_SHORTEST)
        # What may_name looks for: each value's ASCII letters and digits (a word, a card, an
        # e-mail's local part without its +tag), a phone's national digits, a contact id's
        # number.
        letters = {_compact(w) for w in self.words} | {_compact(n) for n in _flat(self.names)}
        digits = set()
        for kind, key in self.keys:
            if kind is IdentifierKind.PHONE:
                digits.add(_national(key))
            elif kind is IdentifierKind.EMAIL:
                letters.add(_compact(key.rpartition("@")[0]))
            elif kind is IdentifierKind.CRM_ID and _digits(key):
                # Typed, a contact id may lose its letters, separators and zeros (c-42 and
                # 0000042 are C0000042), never its number: a short one lets many lines by.
                digits.add(_digits(key).lstrip("0") or "0")
            else:
                letters.add(_compact(key))
        self._letters, self._numbers = _either(letters), _either(digits)

    def may_name(self, raw: bytes) -> bool:
        """Whether the line ``raw`` may name her (no false negative of :meth:`named_in`; a
        line beyond ASCII or holding an escape always may), from its bytes alone."""
        if b"\\" in raw or not raw.isascii():
            return True
        if self._letters is not None and self._letters.search(raw.translate(_UPPER, _NOT_ALNUM)):
            return True
        return self._numbers is not None and bool(
            self._numbers.search(raw.translate(None, _NOT_DIGIT))
        )

    def named_in(self, raw: bytes) -> bool:
        """Whether the line ``raw`` (one line of a source file) names her."""
        if not (self.keys or self.words or self.names):
            return False
        text = raw.decode("utf-8", "replace")
        try:
            values = list(_leaves(orjson.loads(raw)))
        except orjson.JSONDecodeError:
            text = _unescaped(text)
            values = [piece.strip() for piece in _PIECES.split(text)]
        else:
            text = "\n".join(values)
        return any(self._is_hers(value) for value in values) or self._in_text(text)

    def _is_hers(self, value: str) -> bool:
        value = value.strip()
        if not value or len(value) > _LONGEST:
            return False
        if value.casefold() in self.words:
            return True
        for kind in _KINDS:
            made = make_identifier(kind, value, "erasure", self.region)
            if made is not None and (kind, made.key) in self.keys:
                return True
        return False

    def _in_text(self, text: str) -> bool:
        folded = text.casefold()
        if self._word is not None and self._word.search(folded):
            return True
        if any(self._is_hers(found) for found in _EMAIL.findall(text)):
            return True
        if any(self._is_hers(found) for found in _PHONE.findall(text)):
            return True
        compact = _compact(text)
        if any(needle in compact for needle in self._compact):
            return True
        return any(
            re.search(rf"(?<!\w){re.escape(first)}(?!\w)", folded)
            and re.search(rf"(?<!\w){re.escape(last)}(?!\w)", folded)
            for first, last in self.names
        )


def _flat(names: Iterable[tuple[str, str]]) -> Iterator[str]:
    for first, last in names:
        yield first
        yield last
