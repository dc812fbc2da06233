"""Identifier normalization: one function per kind, used at ingestion and at lookup alike.

Every function returns the canonical value or raises :class:`BadIdentifier` with a message
that says what was wrong, so a lookup with ``"abc"`` as a phone answers a clear error.

E-mail matching keys fold Gmail's dots and ``+tags`` (only for gmail.com and googlemail.com,
where Google ignores them); the stored value keeps what the customer typed, lower-cased, in
Unicode NFC and without the DNS root's trailing dot, its domain in the one form IDNA gives it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from membergraph.identity.value_cache import value_cache

__all__ = [
    "BadIdentifier",
    "IdentifierKind",
    "card_match_key",
    "email_as_typed",
    "email_match_key",
    "crm_id_spellings",
    "fold_name",
    "normalize",
    "normalize_email",
    "normalize_loyalty_id",
    "normalize_phone",
]


class IdentifierKind(StrEnum):
    """The kinds of identifier a record can carry."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    LOYALTY_ID = "LOYALTY_ID"
    CRM_ID = "CRM_ID"
    ANONYMOUS_ID = "ANONYMOUS_ID"


_SHOWN = 60  # characters of a refused value a message repeats


def _shown(value: str) -> str:
    """A refused value as a message repeats it: whole when short, else its start and its
    length (a 5,000-digit "phone" is not echoed back whole)."""
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}... ({len(value)} characters)"


class BadIdentifier(ValueError):
    """A value that cannot be an identifier of its kind."""


_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Characters no one types and no mail server reads: a zero-width space or joiner, a byte
# order mark, a soft hyphen, carried along when an address is copied from a page or a PDF.
_INVISIBLE_CHARS = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# Spaces beside the @ (a no-break space a form put there): never part of an address.
_AROUND_AT = re.compile(r"(?<!\s)\s*@\s*")  # tried once per run of spaces: linear
# No address has more than 254 characters (RFC 5321); one typed or pasted may carry a
# "mailto:", spaces or invisible characters besides. Anything longer is refused by its
# length alone: cleaning and validating a megabyte "address" took 0.3 s of CPU, twice a
# request (the plan, then graphql-core's own execution of the error).
_LONGEST_TYPED_EMAIL = 1024
_LOYALTY_STRIP = re.compile(r"[\s\-_./]")
# What no one types into a card or a phone number and no reader of one sees: control
# characters (a NUL a C till leaves at the end of a string), the invisible ones above.
_UNSEEN = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE_CHARS}]")


def _readable(value: str) -> str:
    """A card or a phone number as a person reads it: without control and invisible
    characters, in NFKC (a full-width ``ＬＤ-２３３９`` is ``LD-2339``; unlike e-mails' NFC:
    letters and digits, none two a person would tell apart). Printable ASCII as it is."""
    if value.isascii() and value.isprintable():
        return value
    return unicodedata.normalize("NFKC", _UNSEEN.sub("", value))


_LOYALTY = re.compile(r"^[A-Z0-9]{4,32}$")


def normalize_email(value: str) -> str:
    """Trim and lower-case an e-mail address, in Unicode NFC, without a trailing dot,
    invisible characters (a zero-width space copied along) or spaces beside the ``@``.

    NFC, not NFKC: canonically equivalent spellings (``é`` as one code point or as ``e`` and
    a combining accent) are the same text typed on two keyboards, and RFC 5198 asks for NFC;
    compatibility folding (``ﬁ`` -> ``fi``, ``²`` -> ``2``) would join addresses a mail
    server keeps apart. A domain's trailing dot is the DNS root (``gmail.com.`` is
    ``gmail.com``), and a ``mailto:`` link names the address it opens: the same mailbox, so
    the same identifier, and the same suppression. Whether the result is an address at all
    is email-validator's judgement (syntax only, see ``_not_an_address``).

    Example:
        >>> normalize_email("  Jane.Doe@EXAMPLE.com. ")
        'jane.doe@example.com'
        >>> normalize_email("MAILTO:jane.doe@example.com")
        'jane.doe@example.com'
        >>> normalize_email("jane.doe\u00a0@example.com\u200b")
        'jane.doe@example.com'
    """
    if len(value) > _LONGEST_TYPED_EMAIL:
        raise BadIdentifier(
            f"{_shown(value)} is not an e-mail address: an address has at most 254 characters"
        )
    email = email_as_typed(value)
    if _PLAIN_EMAIL.match(email) is not None:
        return email
    email = _domain_as_shown(email, value)
    if _PLAIN_EMAIL.match(email) is None and (why := _not_an_address(email)) is not None:
        raise BadIdentifier(f"{_shown(value)} is not an e-mail address: {why}")
    return email


def email_as_typed(value: str) -> str:
    """An e-mail trimmed, lower-cased, in NFC, without invisible characters, ``mailto:``,
    spaces beside the ``@`` or the root's dot, its domain as typed: what releases before
    store format 6 kept (since then the domain is in IDNA's one form, ``_domain_as_shown``)."""
    email = unicodedata.normalize("NFC", _INVISIBLE.sub("", value).strip().lower())
    email = _AROUND_AT.sub("@", email.removeprefix("mailto:").strip())
    return email.removesuffix(".")


def _domain_as_shown(email: str, value: str) -> str:
    """``email`` with its domain in the one form IDNA (UTS 46, what mail servers and DNS
    apply) gives every spelling of it: ``xn--exmple-cua.com`` (what a browser's e-mail
    input sends), ``EXÄMPLE.COM``, a full-width ``ｘ.com`` or ``x。com`` from an input method
    are one domain, so one mailbox is one identifier. A label in Latin letters is kept in
    Unicode (``exämple.com``): what the customer typed and a person reads in answers,
    exports and the identity history; mail software encodes it again to send. Any other
    label is kept in punycode, as browsers show a domain they cannot vouch for: Cyrillic
    ``аррӏе.com`` would read as ``apple.com`` to a steward comparing two members
    (``xn--80ak6aa92e.com`` does not). An ASCII domain that is no punycode is left as it
    is (IDNA would only lower-case it, done already): the plain address costs nothing more.

    Raises:
        BadIdentifier: the domain is no internationalized domain name (``xn--zz.com``,
            ``☃.com``), with email-validator's words when it has some.
    """
    local, at, domain = email.rpartition("@")
    if not at or (domain.isascii() and "xn--" not in domain):
        return email
    try:
        shown = idna.decode(domain, uts46=True, std3_rules=True)
    except (idna.IDNAError, UnicodeError) as exc:
        why = _not_an_address(email) or f"its domain is no internationalized domain name: {exc}"
        raise BadIdentifier(f"{_shown(value)} is not an e-mail address: {why}") from None
    labels = shown.removesuffix(".").split(".")
    return f"{local}@{'.'.join(map(_label_as_shown, labels))}"


def _label_as_shown(label: str) -> str:
    """A domain label IDNA has mapped, as kept: in Unicode when it is ASCII or Latin letters
    (``exämple``, ``bücher``), else its punycode (``xn--80ak6aa92e``)."""
    if label.isascii() or all(
        char.isascii() or unicodedata.name(char, "").startswith("LATIN ") for char in label
    ):
        return label
    return idna.alabel(label).decode("ascii")


# The plain ASCII shape nearly every address has, each of which email-validator accepts
# (a property test holds the two together): taken without asking the library, whose check
# costs ten times as much (docs/benchmarks-history.md). Anything else is the library's to judge:
# this pattern never refuses. No cache instead: a scan (an export, a profile read) meets
# each address once, and a cache of them would grow with the data until full.
_PLAIN_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)(?=.{1,254}\Z)"  # the local part and the whole within their limits
    r"[a-z0-9_%+=-]+(?:\.[a-z0-9_%+=-]+)*"
    r"@(?!.*--)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"  # no "ab--": punycode's mark
    r"(?!(?:arpa|invalid|local|localhost|onion|test)\Z)[a-z]{2,63}\Z"  # special-use: none
)


def _not_an_address(email: str) -> str | None:
    """Why ``email`` (normalized) is no address, in email-validator's words; None if it is one.

    The library judges the syntax only (no DNS: ingestion must not wait on the network, and
    a domain that lapsed still names who the customer was): RFC 5322 dot-atoms (no
    ``a..b@``, no label starting or ending with a hyphen, no ``_`` in a domain, at most 254
    characters; a local part over RFC 5321's 64 is taken, as the library does outside its
    strict mode: servers deliver to them), internationalized addresses
    (RFC 6531: ``jöhn@exämple.com``), no quoted local part, no ``[1.2.3.4]``, and no
    special-use domain (RFC 6761: ``.test``, ``.local``, ``.localhost``, ``.invalid``,
    ``.onion``, ``.arpa``: nobody receives mail there). ``example.com`` and ``.example``
    are addresses (documentation's and tests' domains). The text kept is ours, not the
    library's normalized form: its domain already in IDNA's form (``_domain_as_shown``), its
    local part as typed. What identifies no one (``noemail@...``) is for the
    placeholder rules (:mod:`membergraph.identity.rules`), not for this check.
    """
    try:
        # Each option spelled out: the library's module-wide defaults may be changed by any
        # other code in the process.
        validate_email(
            email,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
            globally_deliverable=True,
            test_environment=False,
        )
    except EmailNotValidError as exc:
        why = str(exc).rstrip(".")
        return why[:1].lower() + why[1:]
    return None


def email_match_key(email: str) -> str:
    """The key two e-mails are matched on: a ``+tag`` after the local part is left out
    (sub-addressing, RFC 5233: Gmail, Outlook.com, iCloud, Proton, Fastmail and Exchange
    deliver ``ann+shop@`` to ``ann@``; a person tags the address she gives a shop), and
    Gmail ignores dots in the local part too.

    Example:
        >>> email_match_key("jane.doe+shop@googlemail.com")
        'janedoe@gmail.com'
        >>> email_match_key("jane.doe+deals@icloud.com")
        'jane.doe@icloud.com'
    """
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@value_cache(1 << 14)
def fold_name(name: str) -> str:
    """A person's name as names are compared: case, accents, spaces and punctuation folded.
    (Cached: scoring suggestions folds each contact's names once for every pair it is in.)

    Example:
        >>> fold_name(" Hélène-Marie ")
        'helenemarie'
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


_NANP_REGIONS = frozenset({"US", "CA"})
_PHONE_SEPARATORS = str.maketrans("", "", " ()-.")


def _nanp_fast(text: str) -> str | None:
    """E.164 for the plain North American shapes, as phonenumbers would give it.

    ``(415) 555-0134``, ``415.555.0134``, ``1-415-555-0134``, ``+1 415 555 0134``: ten
    digits, or eleven after a 1. Parsing with phonenumbers costs ~150 us a number; batches
    hold hundreds of thousands. Anything else goes the full way.
    """
    bare = text.translate(_PHONE_SEPARATORS)
    plus = bare.startswith("+")
    digits = bare[1:] if plus else bare
    if not digits.isascii() or not digits.isdigit():
        return None
    # Area codes start with 2-9; anything else is for phonenumbers to judge.
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":
        return "+" + digits
    if len(digits) == 10 and not plus and digits[0] in "23456789":
        return "+1" + digits
    return None


def normalize_phone(value: str, region: str = "US") -> str:
    """Format a phone number as E.164 (read as ``_readable``; without ``+``: in ``region``).

    Kept when phonenumbers finds it *possible* (its length fits its country), not only
    *valid* (assigned in today's numbering plan): a valid-number check would drop the
    fictional 555 numbers every demo and test uses, and identity needs one stable
    spelling of a number more than today's plan.

    Example:
        >>> normalize_phone("(415) 555-0134")
        '+14155550134'
    """
    text = _readable(value).strip()
    if region in _NANP_REGIONS and (fast := _nanp_fast(text)) is not None:
        return fast
    return _parsed_phone(text, region)


@value_cache(65536)
def _parsed_phone(text: str, region: str) -> str:
    """A phone as phonenumbers reads it (slow, hence cached; the quick North American
    shapes need none: a scan or an export meets each number once, and would fill it)."""
    if not any(ch.isdigit() for ch in text):
        raise BadIdentifier(f"{_shown(text)} is not a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise BadIdentifier(f"{_shown(text)} is not a phone number: {exc._msg}") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        # "555-0134" dials within one area; as E.164 (+15550134) it names no one.
        raise BadIdentifier(f"{_shown(text)} is a local number: give it with its area code")
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise BadIdentifier(f"{_shown(text)} is not a possible phone number in {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_loyalty_id(value: str) -> str:
    """Upper-case a loyalty number, without separators and what ``_readable`` leaves out.

    Example:
        >>> normalize_loyalty_id(" ld-1234-5678 ")
        'LD12345678'
    """
    loyalty = _LOYALTY_STRIP.sub("", _readable(value).strip().upper())
    if not _LOYALTY.match(loyalty):
        raise BadIdentifier(f"{_shown(value)} is not a loyalty number (4-32 letters and digits)")
    return loyalty


_BRAND_PREFIX = re.compile(r"^[A-Z]{1,4}(\d{12,})$")


def card_match_key(loyalty: str) -> str:
    """What a normalized loyalty number is matched on: a long number (12 digits or more,
    as printed under a barcode) without the brand letters printed before it, which some
    forms copy and others leave out (``NW2900104000055`` is card ``2900104000055``). In a
    short number the letters are part of it (``LD12345678``).

    Example:
        >>> card_match_key("NW2900104000055"), card_match_key("LD12345678")
        ('2900104000055', 'LD12345678')
    """
    branded = _BRAND_PREFIX.match(loyalty)
    return branded.group(1) if branded else loyalty


_CRM_ID_SEPARATORS = re.compile(r"[\s._/-]+")
_CRM_ID_PARTS = re.compile(r"^([A-Z]*)(\d+)$")


def crm_id_spellings(value: str, formats: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """The contact ids, in the forms the CRM gives them, that a typed id may be.

    ``formats`` are the CRM's forms as ``(prefix, digits)``: a prefix (``C``, ``BSM-``) and
    the number zero-padded to ``digits`` digits (0: written without leading zeros). An agent
    types ``c0012345``, ``C-0012345`` or ``12345`` for ``C0012345``: case and separators are
    folded and the zeros padded. Digits alone fit every form they can be, and are left for
    the data to choose among (never guessed); a value that fits no form is its own only
    spelling.

    Example:
        >>> forms = [("C", 7), ("BSM-", 0)]
        >>> crm_id_spellings("c-0012345", forms), crm_id_spellings("12345", forms)
        (('C0012345',), ('C0012345', 'BSM-12345'))
        >>> crm_id_spellings("0012345", forms), crm_id_spellings("C-SHOWCASE", forms)
        (('C0012345',), ('C-SHOWCASE',))
    """
    parts = _CRM_ID_PARTS.match(_CRM_ID_SEPARATORS.sub("", value.upper()))
    if parts is None or not value[:1].isalnum() or not parts.group(2).strip("0"):
        return (value,)  # "-1", "0": what a page's script sends for no one
    letters, number = parts.groups()
    found = []
    for prefix, digits in formats:
        if letters and _CRM_ID_SEPARATORS.sub("", prefix.upper()) != letters:
            continue
        if digits:
            if len(number) > digits and number[: len(number) - digits].strip("0"):
                continue
            found.append(prefix + number.lstrip("0").zfill(digits))
        elif not number.startswith("0") or letters:
            found.append(prefix + (number.lstrip("0") or "0"))
    return tuple(dict.fromkeys(found)) or (value,)


def _normalize_plain(kind: IdentifierKind, value: str) -> str:
    text = value.strip()
    if not text:
        raise BadIdentifier(f"an empty {kind.value} is not an identifier")
    return text


def normalize(kind: IdentifierKind, value: str, region: str = "US") -> str:
    """Normalize ``value`` as an identifier of ``kind``, exactly as ingestion does."""
    if kind is IdentifierKind.EMAIL:
        return normalize_email(value)
    if kind is IdentifierKind.PHONE:
        return normalize_phone(value, region)
    if kind is IdentifierKind.LOYALTY_ID:
        return normalize_loyalty_id(value)
    return _normalize_plain(kind, value)
