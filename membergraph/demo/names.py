"""How a duplicate CRM contact's name drifts from the first one's: the ways people and
clerks really write a name twice."""

from __future__ import annotations

import random

from membergraph.demo.vocabulary import ACCENTS, KEYBOARD, NICKNAMES

__all__ = ["close_name", "mistyped", "name_variant", "retyped_address"]


def mistyped(rng: random.Random, name: str) -> str:
    """One keyboard slip inside a name: a neighbouring key, or two letters swapped."""
    if len(name) < 4:
        return name
    at = rng.randrange(1, len(name) - 1)
    if rng.random() < 0.5:
        swapped = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
        if swapped != name:
            return swapped
    near = KEYBOARD.get(name[at].lower(), "")
    return name[:at] + rng.choice(near) + name[at + 1 :] if near else name


def _dropped(rng: random.Random, name: str) -> str:
    if len(name) < 3:
        return name
    at = rng.randrange(1, len(name))
    return name[:at] + name[at + 1 :]


def _short(rng: random.Random, name: str) -> str:
    if name in NICKNAMES:
        return NICKNAMES[name]
    if len(name) >= 5:
        return name[: rng.choice((3, 4))]
    return _dropped(rng, name)


def _accented(rng: random.Random, name: str) -> str:
    spots = [i for i, ch in enumerate(name) if ch in ACCENTS]
    if not spots:
        return name
    at = rng.choice(spots)
    return name[:at] + ACCENTS[name[at]] + name[at + 1 :]


def name_variant(rng: random.Random, kind: str, first: str, last: str) -> tuple[str, str]:
    """``(first, last)`` as a duplicate contact writes them, for a variant ``kind``."""
    if kind == "case":
        return rng.choice([(first.upper(), last.upper()), (first.lower(), last), (first, last)])
    if kind == "typo":
        return mistyped(rng, first), last
    if kind == "dropped":
        return _dropped(rng, first), last
    if kind == "short":
        return _short(rng, first), last
    if kind == "accent":
        return _accented(rng, first), last
    if kind == "swapped":
        return last, first
    if kind == "initial":  # a form with room for an initial only
        return rng.choice([f"{first[0]}.", first[0]]), last
    return first, last


def retyped_address(rng: random.Random, home: tuple[str, str, str]) -> tuple[str, str, str]:
    """``(line, city, postcode)`` as a clerk types it again: the house number left out, and
    the postcode with one digit wrong or two next to each other swapped."""
    line, city, postcode = home
    street = line.partition(" ")[2] if line.split(" ", 1)[0].isdigit() else line
    at = rng.randrange(len(postcode) - 1)
    if rng.random() < 0.5 and postcode[at] != postcode[at + 1]:
        slipped = postcode[:at] + postcode[at + 1] + postcode[at] + postcode[at + 2 :]
    else:
        wrong = str((int(postcode[at]) + rng.randrange(1, 10)) % 10)
        slipped = postcode[:at] + wrong + postcode[at + 1 :]
    return street, city, slipped


def close_name(rng: random.Random, name: str) -> str:
    """A twin's first name a letter from the other's, as parents choose them: ``Anne`` and
    ``Ann``, ``Sarah`` and ``Sara``, ``Jon`` and ``John``, ``Eric`` and ``Erik``."""
    ways = [name + "e" if name[-1] not in "aeiou" else name[:-1]]
    if len(name) >= 4:
        ways.append(name[:-1])  # the last letter left off
        at = rng.randrange(1, len(name) - 1)
        ways.append(name[:at] + name[at + 1 :])  # a letter inside left off
    if "c" in name.lower():
        ways.append(name.replace("c", "k").replace("C", "K"))
    close = [way for way in ways if way != name and len(way) >= 2]
    return rng.choice(close) if close else name + "e"
