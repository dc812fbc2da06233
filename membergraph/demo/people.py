"""The demo's people and households, the writer of the five files, and the mess makers."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from membergraph.demo.names import close_name
from membergraph.demo.profiles import PROFILES, Profile
from membergraph.demo.vocabulary import AREA, DOMAINS, FIRST, LAST, NOW


@dataclass
class Person:
    id: str
    first: str
    last: str
    birth: date
    email: str | None
    mobile: str | None
    household: int
    contacts: list[str] = field(default_factory=list)
    card: str | None = None
    visitors: list[str] = field(default_factory=list)
    in_crm: bool = True
    family: str | None = None  # the household's shared e-mail, if this person uses it
    twin_of: str | None = None
    named_close: bool = False  # a twin named a letter from the other (Anne/Ann)
    old_email: str | None = None  # the e-mail this person used before the one on file
    elder_email: str | None = None  # an older household member's, on an old contact version
    generation: str | None = None  # "Jr." for a son named after his father, "Sr." for him
    handle: str | None = None  # a household's address naming none of it (32nd round)
    joint_first: str | None = None  # a couple's first names on one contact (32nd round)


def happens(stream: random.Random, rate: float) -> bool:
    """A phenomenon of a later round, drawn from that round's own stream and only where it
    has a rate: a profile without it draws nothing, and its data stays as it was."""
    return rate > 0 and stream.random() < rate


def eldest_with_email(members: list[Person]) -> Person | None:
    """A household's oldest member with an e-mail of her own (the first one born, on a tie
    the first listed), or None: whose address a young member's lines may carry."""
    return min((p for p in members if p.email), key=lambda p: p.birth, default=None)


def a_generation_older(elder: Person, person: Person) -> bool:
    """Whether ``elder`` was born at least 18 years before ``person`` (a parent, say)."""
    return elder.birth.year <= person.birth.year - 18


def _renamed(email: str | None, was: str, now: str) -> str | None:
    """A person's e-mail made before she was renamed, naming her as she is now: it starts
    with her first name or its initial (no draw: the rest of a seed's data stays as it
    was)."""
    if email is None:
        return None
    if email.startswith(was.lower()):
        return now.lower() + email[len(was) :]
    return now[:1].lower() + email[1:]


class Writer:
    """The demo's files, written as ``.NAME.jsonl.part`` and given their names only once all
    are whole (:meth:`finish`), ``truth.jsonl`` last: a run stopped part-way (Ctrl-C, a kill,
    a full disk) leaves no cut file under a source's name, and no ``truth.jsonl``, which
    marks a whole set (the demo cached for ``serve`` is taken as written when it is there)."""

    NAMES = ("crm", "transactions", "web_analytics", "call_center", "truth")

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.files = {name: self._part(name).open("wb") for name in self.NAMES}
        self.counts = dict.fromkeys(self.files, 0)
        # People whose CRM contacts and purchases fell silent (32nd round): their lines
        # there are written this much earlier, and the last day they show is kept.
        self.silenced: dict[str, timedelta] = {}
        self.last_seen: dict[str, datetime] = {}

    def _part(self, name: str) -> Path:
        return self.out / f".{name}.jsonl.part"

    def write(self, source: str, line: dict[str, Any], line_id: str, person: str) -> None:
        if person in self.silenced and source in ("crm", "transactions"):
            line = self._earlier(line, person, source == "crm" or bool(line.get("loyalty_id")))
        self.files[source].write(orjson.dumps(line) + b"\n")
        self.files["truth"].write(
            orjson.dumps({"source": source, "id": line_id, "person": person}) + b"\n"
        )
        self.counts[source] += 1

    def _earlier(self, line: dict[str, Any], person: str, seen: bool) -> dict[str, Any]:
        """A silenced person's line with its times moved back (no draw: the rest of the
        data set stays as it was); ``seen``: a contact's line or a card's purchase, the
        days his contact shows (a card-less order is no contact's)."""
        line = dict(line)
        for name in ("updated_at", "occurred_at"):
            if isinstance(line.get(name), str):
                moment = datetime.fromisoformat(line[name]) - self.silenced[person]
                line[name] = moment.isoformat().replace("+00:00", "Z")
                last = self.last_seen.get(person)
                if seen:
                    self.last_seen[person] = moment if last is None else max(last, moment)
        return line

    def close(self) -> None:
        """Close the files; those not finished are deleted."""
        for handle in self.files.values():
            with contextlib.suppress(OSError):  # a full disk fails the last flush too
                handle.close()
        for name in self.NAMES:
            self._part(name).unlink(missing_ok=True)

    def finish(self) -> None:
        """Give each whole file its name (a set written before is replaced: its truth goes
        first, so the names never mark a mix of two sets as whole)."""
        for handle in self.files.values():
            handle.close()
        (self.out / "truth.jsonl").unlink(missing_ok=True)
        for name in self.NAMES:
            self._part(name).replace(self.out / f"{name}.jsonl")


class Generator:
    def __init__(self, members: int, seed: int, profile: Profile = PROFILES["default"]) -> None:
        self.rng = random.Random(seed)
        # The phenomena added later draw from their own stream: the rest of the data set
        # stays what it was for the same seed.
        self.later = random.Random(seed + 1)
        # ... and those of the fourth round from theirs: holdout, which has none of them,
        # stays byte for byte what it was.
        self.added = random.Random(seed + 2)
        # ... and those of the fifth round from theirs (both profiles have them, at rates of
        # their own).
        self.fifth = random.Random(seed + 3)
        # ... and those of the sixth round from theirs.
        self.sixth = random.Random(seed + 4)
        # ... and those of the seventh round from theirs.
        self.seventh = random.Random(seed + 5)
        # ... and the seventh round's web events from theirs (issue 19).
        self.web7 = random.Random(seed + 7)
        # ... and the eighth round's from theirs (demo/slips.py).
        self.eighth = random.Random(seed + 8)
        # ... and the ninth round's from theirs.
        self.ninth = random.Random(seed + 9)
        # ... and the tenth round's from theirs (demo/generations.py).
        self.tenth = random.Random(seed + 10)
        # ... and the eleventh round's from theirs (demo/renewals.py).
        self.eleventh = random.Random(seed + 11)
        # ... and the thirteenth round's from theirs.
        self.thirteenth = random.Random(seed + 13)
        # ... and the thirtieth round's from theirs (demo/parents_address.py).
        self.thirtieth = random.Random(seed + 30)
        # ... and the thirtieth round's calls for a relative from theirs (demo/call_center.py).
        self.calls30 = random.Random(seed + 31)
        # ... and the thirty-second round's, each phenomenon from a stream of its own:
        # a father fallen silent and his namesake son (demo/namesakes.py), a household's
        # address naming none of it (demo/handles.py), an undated contact kept in use
        # (demo/old_contacts.py), a couple's joint contact (demo/joint_contacts.py).
        self.namesakes = random.Random(seed + 32)
        self.handles = random.Random(seed + 33)
        self.old_contacts = random.Random(seed + 34)
        self.joint = random.Random(seed + 35)
        # Who each of them touched, for scoring: a phenomenon's name, then one tuple per
        # case (its kind, then the people's ids).
        self.touched: dict[str, list[tuple[str, ...]]] = {}
        self.added_people = 0  # people a phenomenon adds to a household (a son)
        self.added_contacts = 0  # contacts a phenomenon adds (an old enrolment)
        # A cashier who works shifts at a busy till and asks guests no e-mail: her card, by
        # its card number, with the days of her shifts (sixth round).
        self.shifts: dict[str, list[str]] = {}
        self.cashiers: list[str] = []  # the cards of the stores' cashiers, who shop too
        self.friends: list[str] = []  # e-mails a referral may be sent to
        self.members = members
        self.profile = profile
        self.serial = 0

    def new_contact_id(self) -> str:
        """A contact id of a later round's phenomenon, off the series of ``uid`` (which
        would move every id after it): C and seven digits, from 9000000."""
        self.added_contacts += 1
        return f"C{9_000_000 + self.added_contacts:07d}"

    def new_person_id(self) -> str:
        """A person a later round's phenomenon adds, after the ``members`` drawn."""
        self.added_people += 1
        return f"p{self.members + self.added_people - 1:06d}"

    def uid(self, prefix: str, digits: int = 8) -> str:
        self.serial += 1
        return f"{prefix}{self.rng.randrange(10 ** (digits - 1), 10**digits)}{self.serial:x}"

    def when(self, days_back: int = 730) -> str:
        moment = NOW - timedelta(seconds=self.rng.randrange(days_back * 86400))
        return moment.isoformat().replace("+00:00", "Z")

    def phone(self, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        return f"+1{rng.choice(AREA)}{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"

    def messy_phone(self, e164: str) -> str:
        a, b, c = e164[2:5], e164[5:8], e164[8:]
        return self.rng.choice(
            [
                e164,
                f"({a}) {b}-{c}",
                f"{a}.{b}.{c}",
                f"{a}{b}{c}",
                f"+1 {a} {b} {c}",
                f"1-{a}-{b}-{c}",
            ]
        )

    def messy_email(self, email: str) -> str:
        return self.rng.choice(
            [email, email.upper(), email.title(), f"  {email} ", email.capitalize()]
        )

    def gmail_variant(self, email: str) -> str:
        local, domain = email.split("@")
        if domain != "gmail.com" or self.rng.random() > 0.3:
            return email
        bare = local.replace(".", "")
        return self.rng.choice(
            [f"{bare}@gmail.com", f"{local}+shop@gmail.com", f"{local}@googlemail.com"]
        )

    def messy_card(self, card: str) -> str:
        if card.isdigit():  # a long number, printed under the brand's letters
            return self.rng.choice(
                [card, f"LD{card}", f"LD-{card}", f"{card[:4]} {card[4:8]} {card[8:]}"]
            )
        digits = card[2:]
        return self.rng.choice(
            [
                card,
                card.lower(),
                f"{card[:2]}-{digits[:4]}-{digits[4:]}",
                f"ld {digits[:4]} {digits[4:]}",
            ]
        )

    def people(self) -> list[Person]:
        rng, household = self.rng, 0
        people: list[Person] = []
        while len(people) < self.members:
            household += 1
            size = rng.choices([1, 2, 3, 4], weights=[45, 30, 15, 10])[0]
            last = rng.choice(LAST)
            twins = size >= 2 and rng.random() < self.profile.twins
            for index in range(size):
                adult = index < 2
                first = rng.choice(FIRST)
                year = rng.randrange(1950, 2004) if adult else rng.randrange(2005, 2012)
                birth = date(year, rng.randrange(1, 13), rng.randrange(1, 29))
                surname = last if rng.random() < 0.85 else rng.choice(LAST)
                twin = people[-1] if twins and index == 1 else None
                if twin is not None:  # everything but the first name
                    while first == twin.first:
                        first = rng.choice(FIRST)
                    birth, surname, year = twin.birth, twin.last, twin.birth.year
                email = None
                if rng.random() < 0.9:
                    local = rng.choice(
                        [
                            f"{first}.{surname}",
                            f"{first}{surname}{rng.randrange(100)}",
                            f"{first[0]}{surname}{year % 100}",
                        ]
                    )
                    email = f"{local.lower()}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
                mobile = self.phone() if rng.random() < 0.9 else None
                pid = f"p{len(people):06d}"
                people.append(Person(pid, first, surname, birth, email, mobile, household))
                if twin is not None:
                    people[-1].twin_of = twin.id
                    if self.fifth.random() < self.profile.twin_close_name:
                        people[-1].first = close_name(self.fifth, twin.first)
                        people[-1].named_close = True
                        people[-1].email = _renamed(email, first, people[-1].first)
        return people[: self.members]
