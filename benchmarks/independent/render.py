"""How people, clerks, agents and systems write identifiers: surface forms of one value.

Each function takes the canonical value (the mailbox, the phone line, the card) and a
``random.Random`` and returns one way it may be written in a source. A surface form that a
careful normaliser can bring back to the canonical value (case, spaces, punctuation,
country codes, Gmail dots and plus tags, invisible characters) keeps the canonical token
in the ground truth; a typo makes another value and another token.
"""

from __future__ import annotations

import random
import unicodedata

from names import DOMAIN_TYPOS

ZWSP = "\u200b"
NBSP = "\u00a0"


def strip_accents(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def mojibake(text: str) -> str:
    """UTF-8 read as Latin-1 by a legacy import (``José`` -> ``JosÃ©``)."""
    try:
        return text.encode("utf-8").decode("latin-1")
    except UnicodeDecodeError:
        return text


KEYBOARD = {
    "a": "qs", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}


def typo(text: str, r: random.Random) -> str:
    """One keying error: a transposition, a dropped, doubled or neighbouring letter."""
    if len(text) < 3:
        return text + text[-1]
    i = r.randrange(1, len(text) - 1)
    kind = r.random()
    if kind < 0.3:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.55:
        return text[:i] + text[i + 1:]
    if kind < 0.75:
        return text[:i] + text[i] + text[i:]
    c = text[i].lower()
    if c in KEYBOARD:
        n = r.choice(KEYBOARD[c])
        n = n.upper() if text[i].isupper() else n
        return text[:i] + n + text[i + 1:]
    return text[:i] + text[i + 1:]


def email_surface(email: str, r: random.Random, *, clerk: bool = False) -> str:
    """The same mailbox as a person or a clerk types it."""
    local, _, domain = email.partition("@")
    x = r.random()
    if domain == "gmail.com" and r.random() < 0.04:
        # Gmail ignores dots and +tags: one mailbox, several spellings.
        local = local.replace(".", "") if "." in local else local[:3] + "." + local[3:]
    if r.random() < 0.03:
        local = local + "+" + r.choice(["shop", "nf", "promo", "deals"])
    out = f"{local}@{domain}"
    if clerk and x < 0.35:
        out = out.upper()
    elif x < 0.08:
        out = local.capitalize() + "@" + domain.capitalize()
    elif x < 0.11:
        out = out.upper()
    y = r.random()
    if y < 0.02:
        out = " " + out + " "
    elif y < 0.025:
        out = out + ZWSP
    elif y < 0.028:
        out = out.replace("@", NBSP + "@") if r.random() < 0.5 else "mailto:" + out
    return out


def email_typo(email: str, r: random.Random) -> str:
    local, _, domain = email.partition("@")
    if domain in DOMAIN_TYPOS and r.random() < 0.6:
        return f"{local}@{r.choice(DOMAIN_TYPOS[domain])}"
    return f"{typo(local, r)}@{domain}"


def phone_surface(phone: str, r: random.Random) -> str:
    """A North American number (``+1NXXNXXXXXX``) or a Mexican mobile (``+52...``)."""
    if phone.startswith("+52"):
        d = phone[3:]
        return r.choice([phone, f"+52 {d[:2]} {d[2:6]} {d[6:]}", f"044 {d[:2]} {d[2:]}",
                         f"011 52 {d}", f"52{d}"])
    d = phone[2:]
    a, b, c = d[:3], d[3:6], d[6:]
    forms = [
        (f"({a}) {b}-{c}", 22), (f"{a}-{b}-{c}", 22), (f"{a}{b}{c}", 15), (f"{a}.{b}.{c}", 6),
        (f"+1 {a} {b} {c}", 8), (f"1-{a}-{b}-{c}", 5), (f"+1{a}{b}{c}", 10),
        (f"{a} {b} {c}", 6), (f"+1 ({a}) {b}-{c}", 4), (f"1{a}{b}{c}", 2),
    ]
    out = r.choices([f for f, _ in forms], [w for _, w in forms])[0]
    if r.random() < 0.01:
        out += r.choice([" x12", " ext. 204", " (cell)", " cell", " home"])
    return out


def card_surface(card: str, r: random.Random, *, typed: bool) -> str:
    """A loyalty card as scanned (digits) or typed (groups, dashes, lower case)."""
    if card.startswith("BM"):
        num = card[2:]
        return r.choice([card, f"BM-{num}", f"bm{num}", f"BM {num}"]) if typed else card
    if not typed:
        return card
    return r.choice([card, f"{card[:4]} {card[4:8]} {card[8:]}", f"{card[:4]}-{card[4:8]}-{card[8:]}",
                     card, f" {card}"])


def crm_surface(cid: str, r: random.Random) -> str:
    """A CRM id as an agent types it in the call-center tool."""
    if cid.startswith("BSM-"):
        return r.choice([cid, cid.lower(), cid.replace("-", ""), cid[4:]])
    digits = cid[1:]
    return r.choice([cid, cid, cid.lower(), f"C-{digits}", digits, digits.lstrip("0")])
