"""A synthetic, deterministic and deliberately messy data set with known truth.

``write_demo_data(out, members=1000, seed=7)`` writes the four source files of DESIGN.md and
``truth.jsonl`` (one line per source line: which person it belongs to). The mess is what real
sources hold: e-mails in several casings and with spaces, phones in many formats, loyalty
numbers with dashes or lower case, households sharing a landline and sometimes an e-mail,
duplicate CRM contacts, Gmail dots, visitors who browse anonymously and later log in, shared
family computers, online orders without a card, junk e-mails typed at the till, a call
center's hold line as caller number, and agents typing another member's card number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DemoSummary", "write_demo_data"]

FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Rebecca",
    "Jason",
    "Laura",
    "Edward",
    "Sharon",
    "Jeffrey",
    "Cynthia",
    "Ryan",
    "Kathleen",
    "Jacob",
    "Amy",
    "Gary",
    "Angela",
    "Nicholas",
    "Anna",
    "Eric",
    "Brenda",
    "Jonathan",
    "Pamela",
    "Larry",
    "Emma",
    "Justin",
    "Nicole",
    "Scott",
    "Helen",
    "Brandon",
    "Samantha",
    "Benjamin",
    "Katherine",
    "Samuel",
    "Christine",
    "Gregory",
    "Debra",
    "Alexander",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Frank",
    "Janet",
    "Raymond",
    "Maria",
    "Jack",
    "Olivia",
    "Dennis",
    "Heather",
    "Jerry",
    "Diane",
    "Tyler",
    "Julie",
    "Aaron",
    "Joyce",
    "Jose",
    "Victoria",
    "Adam",
    "Ruth",
    "Nathan",
    "Virginia",
    "Henry",
    "Lauren",
    "Zachary",
    "Kelly",
    "Douglas",
    "Christina",
    "Peter",
    "Joan",
    "Kyle",
    "Evelyn",
    "Noah",
    "Judith",
    "Ethan",
    "Andrea",
    "Jeremy",
    "Hannah",
    "Walter",
    "Megan",
    "Christian",
    "Cheryl",
    "Keith",
    "Jacqueline",
    "Roger",
    "Martha",
    "Terry",
    "Madison",
    "Austin",
    "Teresa",
    "Sean",
    "Gloria",
    "Gerald",
    "Sara",
    "Carl",
    "Janice",
    "Harold",
    "Ann",
    "Dylan",
    "Kathryn",
    "Arthur",
    "Abigail",
    "Lawrence",
    "Sophia",
    "Jordan",
    "Frances",
    "Jesse",
    "Jean",
    "Bryan",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
]
STREETS = [
    "Oak",
    "Maple",
    "Pine",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Main",
    "Sunset",
    "Lincoln",
    "River",
]
CITIES = [("Springfield", "62701"), ("Portland", "97201"), ("Austin", "73301"), ("Denver", "80202")]
DOMAINS = ["gmail.com"] * 4 + ["yahoo.com", "outlook.com", "icloud.com", "proton.me", "aol.com"]
AREA = ["212", "312", "415", "503", "512", "617", "702", "720", "213", "646"]
JUNK_EMAILS = ["noemail@noemail.com", "test@test.com", "none@none.com", "no@email.com"]
HOLD_LINE = "+1 (888) 410-7700"
PAGES = ["/", "/offers", "/account", "/products/shoes", "/products/coats", "/stores", "/trips"]
CATEGORIES = {"shoes": 8900, "coats": 15900, "groceries": 2400, "books": 1800, "toys": 3100}
REASONS = [
    "points balance",
    "missing points",
    "complaint",
    "address change",
    "order status",
    "cancel",
]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class _Person:
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


@dataclass
class DemoSummary:
    """What :func:`write_demo_data` wrote."""

    people: int
    lines: dict[str, int]


class _Writer:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.files = {
            name: (out / f"{name}.jsonl").open("wb")
            for name in ("crm", "transactions", "web_analytics", "call_center", "truth")
        }
        self.counts = dict.fromkeys(self.files, 0)

    def write(self, source: str, line: dict[str, Any], line_id: str, person: str) -> None:
        self.files[source].write(orjson.dumps(line) + b"\n")
        self.files["truth"].write(
            orjson.dumps({"source": source, "id": line_id, "person": person}) + b"\n"
        )
        self.counts[source] += 1

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


class _Generator:
    def __init__(self, members: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.members = members
        self.serial = 0

    def uid(self, prefix: str, digits: int = 8) -> str:
        self.serial += 1
        return f"{prefix}{self.rng.randrange(10 ** (digits - 1), 10**digits)}{self.serial:x}"

    def when(self, days_back: int = 730) -> str:
        moment = NOW - timedelta(seconds=self.rng.randrange(days_back * 86400))
        return moment.isoformat().replace("+00:00", "Z")

    def phone(self) -> str:
        return (
            f"+1{self.rng.choice(AREA)}{self.rng.randrange(2, 10)}{self.rng.randrange(10**6):06d}"
        )

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
        digits = card[2:]
        return self.rng.choice(
            [
                card,
                card.lower(),
                f"{card[:2]}-{digits[:4]}-{digits[4:]}",
                f"ld {digits[:4]} {digits[4:]}",
            ]
        )

    def people(self) -> list[_Person]:
        rng, people, household = self.rng, [], 0
        while len(people) < self.members:
            household += 1
            size = rng.choices([1, 2, 3, 4], weights=[45, 30, 15, 10])[0]
            last = rng.choice(LAST)
            for index in range(size):
                adult = index < 2
                first = rng.choice(FIRST)
                year = rng.randrange(1950, 2004) if adult else rng.randrange(2005, 2012)
                birth = date(year, rng.randrange(1, 13), rng.randrange(1, 29))
                surname = last if rng.random() < 0.85 else rng.choice(LAST)
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
                people.append(_Person(pid, first, surname, birth, email, mobile, household))
        return people[: self.members]


def write_demo_data(out: Path, members: int = 1000, seed: int = 7) -> DemoSummary:
    """Write ``crm.jsonl``, ``transactions.jsonl``, ``web_analytics.jsonl``,
    ``call_center.jsonl`` and ``truth.jsonl`` into ``out``; the same seed gives the same bytes."""
    gen = _Generator(members, seed)
    rng = gen.rng
    people = gen.people()
    households: dict[int, list[_Person]] = {}
    for person in people:
        households.setdefault(person.household, []).append(person)
    landline = {h: gen.phone() for h in households if rng.random() < 0.6}
    family_email = {
        h: f"the.{members_[0].last.lower()}.family{h}@{rng.choice(DOMAINS)}"
        for h, members_ in households.items()
        if len(members_) > 1 and rng.random() < 0.15
    }
    address = {
        h: (f"{rng.randrange(1, 999)} {rng.choice(STREETS)} St", *rng.choice(CITIES))
        for h in households
    }
    writer = _Writer(out)
    try:
        for person in people:
            if rng.random() < 0.7:
                person.card = f"LD{rng.randrange(10**7, 10**8)}"
            person.in_crm = rng.random() < 0.85
            shared = family_email.get(person.household)
            # Whoever uses the family e-mail gave it to the CRM too: a family e-mail is then on
            # two CRM people (shared) or on its one user, never silently on someone else.
            if shared and person.in_crm and (person.email is None or rng.random() < 0.5):
                person.family = shared
        for person in people:
            _crm(
                gen,
                writer,
                person,
                landline.get(person.household),
                family_email.get(person.household),
                address[person.household],
            )
        cards = [p.card for p in people if p.card]
        for person in people:
            _transactions(gen, writer, person, family_email.get(person.household))
            _web(gen, writer, person, family_email.get(person.household))
            _calls(gen, writer, person, landline.get(person.household), cards)
        for members_ in households.values():
            _shared_computer(gen, writer, members_)
    finally:
        writer.close()
    counts = {k: v for k, v in writer.counts.items() if k != "truth"}
    return DemoSummary(people=len(people), lines=counts)


def _crm(
    gen: _Generator,
    w: _Writer,
    p: _Person,
    landline: str | None,
    family: str | None,
    address: tuple[str, str, str],
) -> None:
    rng = gen.rng
    if not p.in_crm:
        return  # not every customer is in the CRM
    copies = 2 if rng.random() < 0.05 else 1  # duplicate contacts, as every CRM has them
    for copy in range(copies):
        contact_id = gen.uid("C", 7)
        p.contacts.append(contact_id)
        emails = [gen.messy_email(p.email)] if p.email else []
        if p.family:
            emails.append(p.family)
        phones = (
            [gen.messy_phone(p.mobile)] if p.mobile and (copy == 0 or rng.random() < 0.7) else []
        )
        if landline:
            phones.append(gen.messy_phone(landline))
        line = {
            "contact_id": contact_id,
            "first_name": p.first if copy == 0 or rng.random() < 0.8 else p.first.upper(),
            "last_name": p.last,
            "emails": emails,
            "phones": phones,
            "loyalty_id": gen.messy_card(p.card)
            if p.card and copy == 0 and rng.random() < 0.9
            else None,
            "birth_date": p.birth.isoformat(),
            "address": {
                "line1": address[0],
                "city": address[1],
                "postal_code": address[2],
                "country": "US",
            },
            "preferred_language": rng.choice(["en", "en", "en", "es", "fr"]),
            "consents": {k: rng.random() < 0.7 for k in ("email", "sms", "push", "phone")},
            "updated_at": gen.when(),
        }
        w.write("crm", line, contact_id, p.id)


def _transactions(gen: _Generator, w: _Writer, p: _Person, family: str | None) -> None:
    rng = gen.rng
    planned = []
    for _ in range(int(rng.expovariate(1 / 6))):
        online = rng.random() < (0.3 if p.card else 1.0)
        email = None
        card = p.card if (not online or rng.random() < 0.5) else None
        if online:
            chosen = p.family if p.family and (not p.email or rng.random() < 0.3) else p.email
            if chosen is None:
                continue
            email = gen.messy_email(gen.gmail_variant(chosen))
        elif rng.random() < 0.05:
            email = rng.choice(JUNK_EMAILS)  # typed at the till to get past the form
        if card is None and email is None:
            continue
        planned.append((gen.when(), online, card, email))
    balance = 0
    for occurred_at, online, card, email in sorted(planned):
        category = rng.choice(list(CATEGORIES))
        quantity = rng.randrange(1, 4)
        amount = CATEGORIES[category] * quantity
        status = rng.choices(["completed", "refunded", "cancelled"], weights=[90, 6, 4])[0]
        earned = amount // 100 if card else 0
        # Members redeem only points they have: the balance never goes negative.
        redeemed = 500 if card and balance >= 500 and rng.random() < 0.3 else 0
        if status == "completed":
            balance += earned - redeemed
        tid = gen.uid("T", 9)
        line = {
            "transaction_id": tid,
            "loyalty_id": gen.messy_card(card) if card else None,
            "email": email,
            "store_id": None if online else f"S{rng.randrange(1, 40):03d}",
            "channel": "online" if online else "store",
            "occurred_at": occurred_at,
            "amount_cents": amount,
            "currency": "USD",
            "points_earned": earned,
            "points_redeemed": redeemed,
            "status": status,
            "items": [
                {
                    "sku": f"{category[:3].upper()}-{rng.randrange(1000)}",
                    "category": category,
                    "quantity": quantity,
                    "unit_price_cents": CATEGORIES[category],
                }
            ],
        }
        w.write("transactions", line, tid, p.id)


def _web_event(gen: _Generator, w: _Writer, person: str, anonymous_id: str, **fields: Any) -> None:
    eid = gen.uid("E", 10)
    line = {
        "event_id": eid,
        "anonymous_id": anonymous_id,
        "user_id": None,
        "email": None,
        "type": "page",
        "name": None,
        "occurred_at": gen.when(365),
        "properties": {},
    }
    line.update(fields)
    w.write("web_analytics", line, eid, person)


def _web(gen: _Generator, w: _Writer, p: _Person, family: str | None) -> None:
    rng = gen.rng
    for _ in range(rng.choices([0, 1, 2, 3], weights=[25, 45, 20, 10])[0]):
        anonymous_id = gen.uid("a-", 12)
        p.visitors.append(anonymous_id)
        for _ in range(rng.randrange(1, 8)):
            _web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                name="Page Viewed",
                properties={"path": rng.choice(PAGES)},
            )
        if p.contacts and rng.random() < 0.5:
            _web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                type="identify",
                name="Logged In",
                user_id=rng.choice(p.contacts),
            )
        elif (p.email or p.family) and rng.random() < 0.3:
            _web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                type="identify",
                name="Signed Up",
                email=gen.messy_email(p.email or p.family or ""),
            )
        for name in ("Email Opened", "Email Clicked", "Offer Redeemed"):
            if rng.random() < 0.3:
                _web_event(
                    gen,
                    w,
                    p.id,
                    anonymous_id,
                    type="track",
                    name=name,
                    properties={"campaign": f"cmp-{rng.randrange(20)}"},
                )


def _shared_computer(gen: _Generator, w: _Writer, household: list[_Person]) -> None:
    logged = [p for p in household if p.contacts]
    if len(logged) < 2 or gen.rng.random() > 0.1:
        return
    anonymous_id = gen.uid("a-", 12)
    for person in logged[:2]:
        _web_event(
            gen,
            w,
            person.id,
            anonymous_id,
            type="identify",
            name="Logged In",
            user_id=person.contacts[0],
        )


def _calls(gen: _Generator, w: _Writer, p: _Person, landline: str | None, cards: list[str]) -> None:
    rng = gen.rng
    for _ in range(rng.choices([0, 1, 2], weights=[60, 30, 10])[0]):
        roll = rng.random()
        if roll < 0.05:
            phone: str | None = HOLD_LINE  # transferred calls show the hold line
        elif roll < 0.3 and landline:
            phone = landline
        else:
            phone = p.mobile or landline
        ref: dict[str, str] | None = None
        kind = rng.choices(["crm_id", "loyalty_id", "email", None], weights=[40, 30, 10, 20])[0]
        if kind == "crm_id" and p.contacts:
            ref = {"kind": "crm_id", "value": rng.choice(p.contacts)}
        elif kind == "loyalty_id" and p.card:
            card = p.card
            if rng.random() < 0.1:  # ~3% of all calls
                card = rng.choice(cards)  # the agent typed another member's card
            ref = {"kind": "loyalty_id", "value": gen.messy_card(card)}
        elif kind == "email" and p.email:
            ref = {"kind": "email", "value": p.email}
        iid = gen.uid("I", 9)
        line = {
            "interaction_id": iid,
            "caller_phone": gen.messy_phone(
                phone.replace(" ", "").replace("(", "").replace(")", "").replace("-", "")
            )
            if phone
            else None,
            "account_ref": ref,
            "agent_id": f"agent-{rng.randrange(1, 30)}",
            "started_at": gen.when(),
            "duration_s": rng.randrange(30, 1800),
            "reason": rng.choice(REASONS),
            "sentiment": round(rng.uniform(-1, 1), 2),
            "resolved": rng.random() < 0.8,
            "notes": None,
        }
        w.write("call_center", line, iid, p.id)
