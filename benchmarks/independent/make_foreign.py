"""An independent generator of messy retail customer data for ``membergraph resolve``.

Written without reading the identity engine, its rules, its demo generator or its quality
benchmarks: the world below is one retail chain ("Northfield Market", groceries and general
merchandise in Ohio, Pennsylvania, New York, Michigan, Illinois, Indiana, Ontario and
Quebec, plus the customer file of "Bayside Market", a chain it bought in 2018) as the
author imagines it from real loyalty and CRM data. Every rate is a named constant in
``RATES`` and is written to ``DIR/truth/manifest.json``.

Usage::

    python make_foreign.py --people 5000 --seed 1 --out DIR

writes ``DIR/{crm,transactions,web_analytics,call_center}.jsonl`` (the format of
``membergraph resolve --data DIR``) and ``DIR/truth/lines.jsonl``: one object per line of
every source file, ``{"source", "line", "id", "person", ...}``, where ``person`` is the true
person the line belongs to (see REPORT.md, "Whose line is it"), ``links`` the identifiers
the line carries that belong to that person alone (canonical tokens), and ``tags`` the
phenomena that touched it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render as rd  # noqa: E402
from names import (  # noqa: E402
    BIRTH_PLACEHOLDERS,
    CALL_REASONS,
    CATEGORIES,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    NICKNAMES,
    PERSONAL_DOMAINS,
    STREET_KINDS,
    STREETS,
    TILL_EMAIL_HABITS,
    TILL_NAME_HABITS,
    TILL_PHONE_HABITS,
    WORK_DOMAINS,
)

VERSION = 2
"""1: the first data sets (Gmail-dot twins: two people could get one Gmail mailbox).
2: one mailbox per person (Gmail dots compared as Gmail does)."""
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
TX_START = datetime(2023, 12, 1, tzinfo=UTC)
WEB_START = datetime(2025, 6, 1, tzinfo=UTC)
CALL_START = datetime(2024, 6, 1, tzinfo=UTC)

RATES: dict[str, float] = {
    # households
    "household_single": 0.34, "household_couple": 0.27, "household_family": 0.17,
    "household_roommates": 0.08, "household_parent_child": 0.08, "household_three_gen": 0.06,
    "apartment_building": 0.25,           # households in a building of several units
    "apartment_unit_dropped": 0.30,       # a line of such an address without the unit
    "landline": 0.28,                     # households with a landline
    "family_email": 0.18,                 # multi-adult households sharing one mailbox
    "shared_device": 0.40,                # multi-adult households with a family computer
    "household_moved": 0.12,              # households that moved during the period
    # people
    "has_email": 0.88, "has_mobile": 0.90, "email_changed": 0.20, "mobile_changed": 0.10,
    "mobile_recycled": 0.025,             # an old number now held by another person
    "work_email": 0.10, "mexican_mobile": 0.02, "apple_mail": 0.30,
    "staff": 0.012,                       # people who work at a store
    "crm_member": 0.70,                   # people with at least one CRM contact
    "maiden_name": 0.30,                  # married women whose older records keep it
    "hyphenated_married": 0.15, "second_surname": 0.40,  # Hispanic double surnames
    # CRM duplicates and versions
    "dup_2": 0.14, "dup_3": 0.03, "dup_4": 0.008,
    "legacy_contact": 0.06,               # first contact migrated from Bayside Market
    "contact_update": 0.12,               # a newer version of a contact line
    "contact_exact_dup": 0.01,
    "card_replaced": 0.05,                # lost card, listed in previous_loyalty_ids
    "card_replaced_unlisted": 0.02,       # lost card, new card, old one not listed
    "nickname": 0.20, "first_typo": 0.05, "last_typo": 0.05, "caps": 0.15,
    "swapped_names": 0.02, "accent_dropped": 0.55, "mojibake_legacy": 0.15,
    "birth_missing": 0.35, "birth_placeholder": 0.02, "birth_day_month_swap": 0.03,
    "birth_year_typo": 0.01, "address_missing": 0.20,
    "till_declined_email": 0.30,          # store enrolments where the email is refused
    "till_declined_phone": 0.20,
    "staff_email_for_guest": 0.04,        # of refusals: the clerk types his own e-mail
    "placeholder_name": 0.01,             # till contacts named "Guest Customer"
    "twins": 0.08,                        # of families with two adult children
    "junior": 0.05,                       # a son named after his father, same address
    "parent_email_on_child": 0.15,        # contacts of 18-25 year-olds with a parent's e-mail
    "relative_phone_on_contact": 0.25,    # contacts of people 75+ with a relative's mobile
    "crm_malformed": 0.003,
    # transactions
    "scan_card": 0.72, "phone_lookup": 0.10,   # in-store, members; the rest pay cash
    "household_card_use": 0.35,           # non-members using a member's card in their home
    "quick_card": 0.08,                   # non-members with an unregistered card
    "online_card": 0.55, "online_work_email": 0.08, "online_email_typo": 0.015,
    "bopis_store_email": 0.01,            # online order keyed at a store: store's e-mail
    "staff_order_for_guest": 0.015,       # guest's online order on a staff card
    "online_junk_email": 0.005,
    "status_update": 0.03, "cancel_update": 0.01, "refund_line": 0.02,
    "tx_exact_dup": 0.01, "tx_malformed": 0.0025,
    # web analytics
    "web_member": 0.65, "web_nonmember_email": 0.40, "web_no_email": 0.15,
    "session_login": 0.45, "nonmember_identify": 0.20, "user_id_bug": 0.007,
    "user_id_is_email": 0.003, "public_computer_session": 0.01, "kiosk_session": 0.007,
    "email_consent": 0.70, "forwarded_click": 0.02, "bot_per_person": 0.005,
    "web_exact_dup": 0.01, "web_id_reuse": 0.001, "web_malformed": 0.002,
    # call center
    "caller_member": 0.12, "caller_nonmember": 0.04,
    "caller_own_mobile": 0.58, "caller_landline": 0.15, "caller_work": 0.04,
    "caller_withheld": 0.10, "caller_household_phone": 0.05,
    "call_on_behalf": 0.30,               # of elderly members with a relative: calls by him
    "agent_wrong_account": 0.025, "agent_stale_screen": 0.005, "agent_email_typo": 0.03,
    "call_exact_dup": 0.01, "call_malformed": 0.003,
    # late lines: lines moved away from their place in time order
    "late_line": 0.03,
}


def mailbox(email: str) -> str:
    """The mailbox an address reaches: Gmail ignores dots (v2: v1 gave two people
    ``jane.doe@gmail.com`` and ``janedoe@gmail.com``, one mailbox)."""
    local, _, domain = email.lower().partition("@")
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def chance(r: random.Random, name: str) -> bool:
    return r.random() < RATES[name]


# --------------------------------------------------------------------------- world model


@dataclass
class Address:
    number: int
    street: str
    kind: tuple[str, str]
    unit: str | None
    city: tuple
    postal: str

    def token(self) -> str:
        return f"addr:{self.number} {self.street} {self.kind[1]}|{self.unit}|{self.postal}"


@dataclass
class Store:
    sid: str
    city: tuple
    phone: str
    email: str
    email_habit: str | None       # what its clerks type for a refused e-mail
    phone_habit: str | None
    kiosk: str
    staff: list = field(default_factory=list)


@dataclass
class Household:
    hid: str
    address: Address
    old_address: Address | None
    moved_at: datetime | None
    landline: str | None
    family_email: str | None
    shared_device: str | None
    store: Store
    people: list = field(default_factory=list)

    def address_at(self, t: datetime) -> Address:
        if self.old_address and self.moved_at and t < self.moved_at:
            return self.old_address
        return self.address


@dataclass
class Contact:
    cid: str
    person: Person
    created: datetime
    channel: str
    card: str | None
    prev_cards: list[str] = field(default_factory=list)
    unlisted_old_card: str | None = None
    card_since: datetime | None = None


@dataclass
class Person:
    pid: str
    hh: Household
    first: str
    last: str
    sex: str
    culture: str
    birth: date
    email: str | None = None
    old_email: str | None = None
    email_changed_at: datetime | None = None
    work_email: str | None = None
    mobile: str | None = None
    old_mobile: str | None = None
    mobile_changed_at: datetime | None = None
    work_phone: str | None = None
    apple_mail: bool = False
    staff_store: Store | None = None
    member: bool = False
    maiden: str | None = None
    married_at: datetime | None = None
    second_surname: str | None = None
    contacts: list[Contact] = field(default_factory=list)
    quick_card: str | None = None
    devices: list = field(default_factory=list)
    relative: Person | None = None
    junior: bool = False
    employer: str | None = None

    def email_at(self, t: datetime) -> str | None:
        if self.old_email and self.email_changed_at and t < self.email_changed_at:
            return self.old_email
        return self.email

    def mobile_at(self, t: datetime) -> str | None:
        if self.old_mobile and self.mobile_changed_at and t < self.mobile_changed_at:
            return self.old_mobile
        return self.mobile

    def age_at(self, t: datetime) -> int:
        return t.year - self.birth.year

    def cards_at(self, t: datetime) -> list[tuple[str, Contact]]:
        out = []
        for c in self.contacts:
            if c.created > t:
                continue
            if c.card_since and t < c.card_since:
                for old in c.prev_cards[-1:] + ([c.unlisted_old_card] if c.unlisted_old_card else []):
                    out.append((old, c))
            elif c.card:
                out.append((c.card, c))
        return out


def rand_time(r: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    return start + timedelta(seconds=r.random() * max(span, 1))


def iso(t: datetime, r: random.Random) -> str:
    t = min(t, NOW)  # no source writes the future; every line stays valid as the clock moves
    x = r.random()
    if x < 0.80:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if x < 0.90:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if x < 0.96:
        local = t - timedelta(hours=5)
        return local.strftime("%Y-%m-%dT%H:%M:%S-05:00")
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{r.randrange(1000):03d}Z"


class World:
    def __init__(self, people: int, seed: int, version: int = VERSION) -> None:
        self.version = version
        self.r = random.Random(seed)
        self.n = people
        self.seed = seed
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.used_cards: set[str] = set()
        self.persons: list[Person] = []
        self.households: list[Household] = []
        self.stores: list[Store] = []
        self.lines: dict[str, list[dict]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.crm_seq = 1000 + self.r.randrange(5000)
        self.tx_seq = 0
        self.ev_seq = 0
        self.call_seq = 0
        self.contacts: list[Contact] = []
        self.by_last: dict[str, list[Person]] = defaultdict(list)
        self.first_w = [w for *_, w, _ in [(f[0], f[1], f[2], f[3]) for f in FIRST_NAMES]]
        self.last_w = [w for _, w, _ in LAST_NAMES]
        self.owners: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.mpp_proxies = [self.anon() for _ in range(12)]
        self.public_pcs = [self.anon() for _ in range(max(5, people // 400))]
        self.switchboards = {d: self.phone(r_city=None) for d in WORK_DOMAINS}

    # ------------------------------------------------------------------ identifiers

    def phone(self, r_city: tuple | None, *, mexican: bool = False) -> str:
        r = self.r
        while True:
            if mexican:
                p = "+52" + r.choice(["55", "33", "81"]) + f"{r.randrange(10**8):08d}"
            else:
                area = r.choice(r_city[4] if r_city else ["614", "416", "312", "514", "313"])
                p = f"+1{area}{r.randrange(2, 10)}{r.randrange(10)}{r.randrange(10)}{r.randrange(10**4):04d}"
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def email_for(self, first: str, last: str, birth: date, domain: str | None = None) -> str:
        r = self.r
        f = rd.strip_accents(first).lower().replace(" ", "").replace("'", "").replace("-", "")
        ln = rd.strip_accents(last).lower().replace(" ", "").replace("'", "").replace("-", "")
        domain = domain or r.choices([d for d, _ in PERSONAL_DOMAINS],
                                     [w for _, w in PERSONAL_DOMAINS])[0]
        styles = [f"{f}.{ln}", f"{f}{ln}", f"{f[0]}{ln}", f"{f}_{ln}", f"{f}{ln}{birth.year % 100:02d}",
                  f"{f}{r.randrange(1, 999)}", f"{ln}{f[0]}", f"{f}.{ln}{r.randrange(1, 99)}",
                  r.choice(["sunshine", "hockeyfan", "bookworm", "gardener", "bluejay", "tigerlily",
                            "mapleleaf", "coffeelover"]) + str(r.randrange(1, 9999))]
        for _ in range(50):
            e = f"{r.choice(styles)}@{domain}"
            if self.mailbox(e) not in self.used_emails:
                self.used_emails.add(self.mailbox(e))
                return e
        e = f"{f}{ln}{r.randrange(10**6)}@{domain}"
        self.used_emails.add(self.mailbox(e))
        return e

    def mailbox(self, email: str) -> str:
        return mailbox(email) if self.version >= 2 else email

    def card(self, legacy: bool = False) -> str:
        while True:
            c = f"BM{self.r.randrange(10**6):06d}" if legacy else f"6048{self.r.randrange(10**8):08d}"
            if c not in self.used_cards:
                self.used_cards.add(c)
                return c

    def anon(self) -> str:
        r = self.r
        h = "".join(r.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{r.choice('89ab')}{h[17:20]}-{h[20:32]}"

    def address(self, city: tuple, building: Address | None = None) -> Address:
        r = self.r
        if building:
            return Address(building.number, building.street, building.kind, str(r.randrange(1, 40)),
                           city, building.postal)
        if city[3] == "zip":
            postal = f"{r.randrange(43000, 62999):05d}"
        else:
            L = "ABCEGHJKLMNPRSTVXY"
            postal = f"{r.choice('KLMHJ')}{r.randrange(10)}{r.choice(L)} {r.randrange(10)}{r.choice(L)}{r.randrange(10)}"
        return Address(r.randrange(1, 9999), r.choice(STREETS), r.choice(STREET_KINDS), None, city, postal)

    # ------------------------------------------------------------------ population

    def build(self) -> None:
        r = self.r
        n_stores = max(8, self.n // 350)
        for i in range(n_stores):
            city = r.choice(CITIES)
            sid = f"S{r.randrange(100, 999)}{i:02d}"
            habit = r.random()
            email_habit = (r.choice(TILL_EMAIL_HABITS) if habit < 0.45
                           else f"store{sid[1:]}@northfieldmarket.com" if habit < 0.70 else None)
            ph = r.random()
            store_phone = self.phone(city)
            phone_habit = (r.choice(TILL_PHONE_HABITS) if ph < 0.35 else
                           "STORE" if ph < 0.55 else None)
            self.stores.append(Store(sid, city, store_phone, f"store{sid[1:]}@northfieldmarket.com",
                                     email_habit, phone_habit, self.anon()))
        buildings: list[Address] = []
        pid = 0
        while len(self.persons) < self.n:
            store = r.choice(self.stores)
            city = store.city if r.random() < 0.9 else r.choice(CITIES)
            if r.random() < RATES["apartment_building"] and buildings and r.random() < 0.7:
                addr = self.address(city, r.choice(buildings))
            else:
                addr = self.address(city)
                if r.random() < RATES["apartment_building"]:
                    addr.unit = str(r.randrange(1, 40))
                    buildings.append(addr)
            hh = Household(f"H{len(self.households):06d}", addr, None, None, None, None, None, store)
            if chance(r, "household_moved"):
                hh.old_address = self.address(r.choice(CITIES) if r.random() < 0.2 else city)
                hh.moved_at = rand_time(r, datetime(2019, 1, 1, tzinfo=UTC), NOW)
            self.households.append(hh)
            kinds = ["household_single", "household_couple", "household_family",
                     "household_roommates", "household_parent_child", "household_three_gen"]
            kind = r.choices(kinds, [RATES[k] for k in kinds])[0]
            members = self.make_household(hh, kind)
            for p in members:
                pid += 1
                p.pid = f"P{self.seed:02d}{pid:07d}"
                self.persons.append(p)
                hh.people.append(p)
                self.by_last[rd.strip_accents(p.last)].append(p)
            if len(hh.people) > 1:
                if chance(r, "landline"):
                    hh.landline = self.phone(city)
                adults = [p for p in hh.people]
                if kind != "household_roommates" and chance(r, "family_email"):
                    a = adults[0]
                    dom = r.choice(["comcast.net", "gmail.com", "yahoo.com", "sympatico.ca", "aol.com"])
                    fam = f"the{rd.strip_accents(a.last).lower().replace(' ', '').replace(chr(39), '')}s{r.randrange(1, 99)}@{dom}"
                    if self.mailbox(fam) not in self.used_emails:
                        self.used_emails.add(self.mailbox(fam))
                        hh.family_email = fam
                if chance(r, "shared_device"):
                    hh.shared_device = self.anon()
            elif chance(r, "landline") and r.random() < 0.5:
                hh.landline = self.phone(city)
        self.persons = self.persons[: self.n]
        self.assign_identifiers()

    def pick_first(self, sex: str | None, culture: str | None = None) -> tuple[str, str, str]:
        r = self.r
        pool = [f for f in FIRST_NAMES if (sex is None or f[1] == sex)
                and (culture is None or f[3] == culture or r.random() < 0.15)]
        if not pool:
            pool = [f for f in FIRST_NAMES if sex is None or f[1] == sex]
        f = r.choices(pool, [x[2] for x in pool])[0]
        return f[0], f[1], f[3]

    def pick_last(self) -> tuple[str, str]:
        ln = self.r.choices(LAST_NAMES, self.last_w)[0]
        return ln[0], ln[2]

    def new_person(self, hh: Household, last: str, culture: str, sex: str | None,
                   age: tuple[int, int]) -> Person:
        r = self.r
        first, sex_, cult = self.pick_first(sex, culture)
        lo, hi = age
        y = NOW.year - r.randrange(lo, max(hi, lo + 1))
        birth = date(y, r.randrange(1, 13), r.randrange(1, 29))
        return Person("", hh, first, last, sex_, culture, birth)

    def make_household(self, hh: Household, kind: str) -> list[Person]:
        r = self.r
        last, culture = self.pick_last()
        out: list[Person] = []
        if kind == "household_single":
            out.append(self.new_person(hh, last, culture, None, (19, 88)))
        elif kind in ("household_couple", "household_family", "household_three_gen"):
            a = self.new_person(hh, last, culture, "M" if r.random() < 0.9 else "F", (24, 85))
            b_last = last if r.random() < 0.75 else self.pick_last()[0]
            b = self.new_person(hh, b_last, culture, "F" if a.sex == "M" else "M",
                                (max(20, NOW.year - a.birth.year - 6), NOW.year - a.birth.year + 6))
            if b_last == last and b.sex == "F" and r.random() < RATES["maiden_name"]:
                b.maiden = self.pick_last()[0]
                b.married_at = rand_time(r, datetime(2013, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))
            out += [a, b]
            if kind == "household_family":
                for _ in range(r.choice([1, 1, 2])):
                    kid_age = (18, max(19, min(30, NOW.year - a.birth.year - 18)))
                    out.append(self.new_person(hh, last, culture, None, kid_age))
                kids = out[2:]
                if len(kids) == 2 and chance(r, "twins"):
                    kids[1].birth = kids[0].birth  # twins: one birth date, one address
                    self.counts["twins"] += 1
                if kids[0].sex == "M" and a.sex == "M" and chance(r, "junior"):
                    kids[0].first = a.first  # John Smith Jr. lives with John Smith Sr.
                    kids[0].junior = True
                    self.counts["juniors"] += 1
            if kind == "household_three_gen":
                g = self.new_person(hh, last if r.random() < 0.5 else self.pick_last()[0], culture, None,
                                    (max(70, NOW.year - a.birth.year + 20), 96))
                out.append(g)
        elif kind == "household_roommates":
            for _ in range(r.choice([2, 2, 3])):
                ln, cu = self.pick_last()
                out.append(self.new_person(hh, ln, cu, None, (19, 35)))
        else:  # parent and adult child
            p = self.new_person(hh, last, culture, "F" if r.random() < 0.75 else "M", (40, 85))
            kid_max = max(19, NOW.year - p.birth.year - 17)
            out += [p, self.new_person(hh, last, culture, None, (18, kid_max))]
        for p in out:
            if p.culture == "es" and r.random() < RATES["second_surname"]:
                p.second_surname = self.pick_last()[0] if r.random() < 0.3 else r.choice(
                    ["López", "Hernández", "García", "Pérez", "Ramírez", "Díaz", "Morales"])
        return out

    def assign_identifiers(self) -> None:
        r = self.r
        for p in self.persons:
            city = p.hh.address.city
            if chance(r, "has_email"):
                dom = None
                if r.random() < RATES["apple_mail"] * 0.5:
                    dom = "icloud.com"
                p.email = self.email_for(p.first, p.last, p.birth, dom)
                p.apple_mail = dom == "icloud.com" or r.random() < RATES["apple_mail"] * 0.5
                if chance(r, "email_changed"):
                    p.old_email = self.email_for(p.first, p.maiden or p.last, p.birth)
                    p.email_changed_at = rand_time(r, datetime(2016, 1, 1, tzinfo=UTC), NOW)
                if chance(r, "work_email"):
                    p.employer = r.choice(WORK_DOMAINS)
                    p.work_email = self.email_for(p.first, p.last, p.birth, p.employer)
            if p.employer is None and r.random() < 0.08:
                p.employer = r.choice(WORK_DOMAINS)
            if chance(r, "has_mobile"):
                p.mobile = self.phone(city, mexican=chance(r, "mexican_mobile"))
                if chance(r, "mobile_changed"):
                    p.old_mobile = self.phone(city)
                    p.mobile_changed_at = rand_time(r, datetime(2017, 1, 1, tzinfo=UTC), NOW)
            if chance(r, "staff") and 18 <= p.age_at(NOW) <= 67:
                p.staff_store = p.hh.store
                p.hh.store.staff.append(p)
            p.member = p.staff_store is not None or chance(r, "crm_member")
        # Recycled numbers: a number someone gave up now rings at someone else's.
        holders = [p for p in self.persons if p.mobile]
        for a in holders:
            if not chance(r, "mobile_recycled"):
                continue
            b = r.choice(holders)
            if b is a or b.hh is a.hh or b.old_mobile or a.old_mobile:
                continue
            a.old_mobile = self.phone(a.hh.address.city)
            a.mobile_changed_at = rand_time(r, datetime(2017, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
            b.old_mobile = b.mobile
            b.mobile = a.old_mobile
            b.mobile_changed_at = a.mobile_changed_at + timedelta(days=r.randrange(90, 500))
            self.counts["recycled_numbers"] += 1
        # Elderly people whose son or daughter handles their calls.
        for p in self.persons:
            if p.age_at(NOW) >= 72:
                kin = [q for q in self.by_last[rd.strip_accents(p.last)]
                       if q is not p and q.age_at(NOW) < p.age_at(NOW) - 18]
                if kin:
                    p.relative = r.choice(kin)
        for p in self.persons:
            if p.member:
                self.make_contacts(p)
            elif chance(r, "quick_card"):
                p.quick_card = self.card()
        # A CRM numbers contacts as they are created: a duplicate made years later gets a far
        # number; the acquired chain's customers keep their own numbering.
        for c in sorted(self.contacts, key=lambda c: c.created):
            c.cid = self.new_cid(c.cid == "BSM-")

    # ------------------------------------------------------------------ CRM

    def new_cid(self, legacy: bool) -> str:
        self.crm_seq += self.r.choice([1, 1, 1, 2, 3])
        if legacy:
            return f"BSM-{self.crm_seq % 90000 + 10000}"
        return f"C{self.crm_seq:07d}"

    def make_contacts(self, p: Person) -> None:
        r = self.r
        x = r.random()
        n = 1 + (x < RATES["dup_2"] + RATES["dup_3"] + RATES["dup_4"]) + (
            x < RATES["dup_3"] + RATES["dup_4"]) + (x < RATES["dup_4"])
        adult_from = datetime(p.birth.year + 18, 1, 1, tzinfo=UTC)
        first = max(adult_from, rand_time(r, datetime(2012, 1, 1, tzinfo=UTC), NOW - timedelta(days=30)))
        legacy = chance(r, "legacy_contact") and first < datetime(2018, 6, 1, tzinfo=UTC)
        times = [first]
        for _ in range(n - 1):
            times.append(min(NOW - timedelta(days=3), times[-1] + timedelta(days=r.randrange(20, 2500))))
        for i, t in enumerate(times):
            is_legacy = legacy and i == 0
            channel = "legacy" if is_legacy else r.choices(["store", "web", "call"], [55, 35, 5])[0]
            if p.staff_store and i == 0:
                channel = "store"
            cid = "BSM-" if is_legacy else "C"  # numbered later, in order of creation
            card = None
            if is_legacy:
                card = self.card(legacy=True)
            elif channel == "store" or (channel == "web" and r.random() < 0.85) or r.random() < 0.5:
                card = self.card()
            c = Contact(cid, p, t, channel, card)
            if card and r.random() < RATES["card_replaced"] + RATES["card_replaced_unlisted"]:
                old = card
                c.card = self.card()
                c.card_since = rand_time(r, t + timedelta(days=30), NOW + timedelta(days=60))
                if c.card_since > NOW:
                    c.card, c.card_since = old, None
                elif r.random() < RATES["card_replaced"] / (RATES["card_replaced"] + RATES["card_replaced_unlisted"]):
                    c.prev_cards = [old]
                else:
                    c.unlisted_old_card = old
            p.contacts.append(c)
            self.contacts.append(c)

    def name_surface(self, p: Person, c: Contact, t: datetime) -> tuple[str | None, str | None, list[str]]:
        r = self.r
        tags = []
        first = p.first
        last = p.maiden if (p.maiden and p.married_at and t < p.married_at) else p.last
        if last != p.last:
            tags.append("maiden_name")
        elif p.maiden and r.random() < RATES["hyphenated_married"]:
            last = f"{p.maiden}-{p.last}"
            tags.append("hyphenated")
        if p.second_surname:
            form = r.random()
            if form < 0.45:
                last = f"{last} {p.second_surname}"
                tags.append("double_surname")
            elif form < 0.55:
                last = f"{last}-{p.second_surname}"
                tags.append("double_surname")
        store = c.channel in ("store", "legacy", "call")
        if p.first in NICKNAMES and chance(r, "nickname"):
            first = r.choice(NICKNAMES[p.first])
            tags.append("nickname")
        if r.random() < RATES["first_typo"] * (1.6 if store else 1):
            first = rd.typo(first, r)
            tags.append("first_typo")
        if r.random() < RATES["last_typo"] * (1.6 if store else 1):
            last = rd.typo(last, r)
            tags.append("last_typo")
        if rd.strip_accents(first + last) != first + last and (store or r.random() < 0.3) and chance(r, "accent_dropped"):
            first, last = rd.strip_accents(first), rd.strip_accents(last)
            tags.append("accents_dropped")
        if c.channel == "legacy" and chance(r, "mojibake_legacy"):
            first, last = rd.mojibake(first), rd.mojibake(last)
            tags.append("mojibake")
        if store and chance(r, "caps"):
            first, last = first.upper(), last.upper()
            tags.append("caps")
        elif c.channel == "web" and r.random() < 0.05:
            first, last = first.lower(), last.lower()
        if r.random() < 0.04:
            first = f"{first} {r.choice('ABCDEFGHJKLMNPRSTW')}."
            tags.append("middle_initial")
        if p.junior and r.random() < 0.4:
            last = f"{last} Jr." if r.random() < 0.7 else f"{last} JR"
            tags.append("junior_suffix")
        if store and chance(r, "swapped_names"):
            first, last = last, first
            tags.append("swapped_names")
        f: str | None = first
        ln: str | None = last
        if r.random() < 0.01:
            f = None
        if r.random() < 0.005:
            ln = None
        return f, ln, tags

    def birth_surface(self, p: Person, c: Contact) -> tuple[str | None, list[str]]:
        r = self.r
        if r.random() < RATES["birth_missing"] * (1.3 if c.channel == "store" else 0.8):
            return None, []
        if chance(r, "birth_placeholder"):
            return r.choice(BIRTH_PLACEHOLDERS), ["birth_placeholder"]
        b = p.birth
        if b.day <= 12 and b.day != b.month and chance(r, "birth_day_month_swap"):
            return date(b.year, b.day, b.month).isoformat(), ["birth_swapped"]
        if chance(r, "birth_year_typo"):
            return date(b.year + r.choice([-1, 1, -10, 10]), b.month, b.day).isoformat(), ["birth_year_typo"]
        return b.isoformat(), []

    def address_surface(self, a: Address) -> tuple[dict, list[str]]:
        r = self.r
        tags = []
        full, short = a.kind
        kind = r.choice([full, short, short + ".", short.upper()])
        street = f"{a.number} {a.street} {kind}"
        if a.unit:
            if r.random() < RATES["apartment_unit_dropped"]:
                tags.append("unit_dropped")
            else:
                street = r.choice([f"{street} Apt {a.unit}", f"{street} #{a.unit}",
                                   f"{a.unit}-{a.number} {a.street} {kind}", f"{street}, Unit {a.unit}"])
        if r.random() < 0.1:
            street = street.upper()
        city = a.city[0] if r.random() < 0.8 else rd.strip_accents(a.city[0]).upper()
        postal = a.postal if r.random() < 0.85 else a.postal.replace(" ", "").lower()
        country = r.choice([a.city[2], a.city[2], a.city[2], "USA" if a.city[2] == "US" else "Canada"])
        return {"line1": street, "city": city, "postal_code": postal, "country": country}, tags

    def contact_lines(self) -> None:
        r = self.r
        for c in self.contacts:
            p = c.person
            versions = [c.created]
            if c.card_since:
                versions.append(c.card_since)  # the new card is a change of the contact
            if chance(r, "contact_update"):
                versions.append(min(NOW, c.created + timedelta(days=r.randrange(30, 1500))))
            versions.sort()
            names = self.name_surface(p, c, c.created)
            birth = self.birth_surface(p, c)
            for vi, t in enumerate(versions):
                self.contact_line(c, t, names, birth, update=vi > 0)

    def contact_line(self, c: Contact, t: datetime, names: tuple, birth: tuple, *, update: bool) -> None:
        r = self.r
        p = c.person
        store = p.staff_store if c.channel == "store" and p.staff_store else p.hh.store
        first, last, tags = names
        tags = list(tags) + birth[1] + [f"channel:{c.channel}"]
        if update:
            tags.append("contact_update")
        links = [f"crm:{c.cid}"]
        emails: list[str] = []
        email = p.email_at(t)
        clerk = c.channel in ("store", "call")
        if c.channel == "store" and first and chance(r, "placeholder_name"):
            first, last = r.choice(TILL_NAME_HABITS)
            tags.append("placeholder_name")
        declined = c.channel == "store" and (email is None or chance(r, "till_declined_email"))
        if c.channel == "web":
            if email is None:
                email = p.work_email or self.email_for(p.first, p.last, p.birth)
                if p.email is None:
                    p.email = email
            emails.append(rd.email_surface(email, r))
            links.append(f"email:{email}")
        elif declined:
            tags.append("email_declined")
            if store.staff and r.random() < RATES["staff_email_for_guest"]:
                s = r.choice(store.staff)
                if s is not p and s.email:
                    emails.append(rd.email_surface(s.email, r, clerk=True))
                    tags.append("staff_email_for_guest")
            elif store.email_habit:
                emails.append(store.email_habit if r.random() < 0.9 else store.email_habit.upper())
                tags.append("till_email_placeholder")
        elif email and r.random() < (0.9 if c.channel != "legacy" else 0.7):
            emails.append(rd.email_surface(email, r, clerk=clerk))
            links.append(f"email:{email}")
        parents = [q for q in p.hh.people if q.email and q.age_at(t) > p.age_at(t) + 17]
        if p.age_at(t) <= 25 and parents and chance(r, "parent_email_on_child"):
            # The parent enrolled the student's card with the parent's own address.
            emails = [rd.email_surface(parents[0].email, r, clerk=clerk)]
            links = [x for x in links if not x.startswith("email:")]
            tags.append("parent_email_on_child")
        if p.hh.family_email and r.random() < 0.5:
            emails.append(rd.email_surface(p.hh.family_email, r, clerk=clerk))
            tags.append("family_email")
        if p.work_email and r.random() < 0.15:
            emails.append(rd.email_surface(p.work_email, r))
            links.append(f"email:{p.work_email}")
        phones: list[str] = []
        mob = p.mobile_at(t)
        if c.channel == "store" and chance(r, "till_declined_phone"):
            tags.append("phone_declined")
            if store.phone_habit == "STORE":
                phones.append(rd.phone_surface(store.phone, r))
                tags.append("store_phone_for_guest")
            elif store.phone_habit:
                phones.append(store.phone_habit)
                tags.append("till_phone_placeholder")
        else:
            if mob and r.random() < 0.82:
                phones.append(rd.phone_surface(mob, r))
                if not self.is_recycled(mob):
                    links.append(f"phone:{mob}")
                else:
                    tags.append("recycled_phone")
            if p.hh.landline and (not phones or r.random() < 0.3):
                phones.append(rd.phone_surface(p.hh.landline, r))
                tags.append("landline")
        if p.relative and p.relative.mobile and p.age_at(t) >= 75 and chance(r, "relative_phone_on_contact"):
            phones.append(rd.phone_surface(p.relative.mobile, r))
            tags.append("relative_phone_on_contact")
        if update and r.random() < 0.5:
            # The update: what changed since. The newest e-mail, phone or address.
            newer = p.email_at(NOW)
            if newer and newer != email:
                emails = [rd.email_surface(newer, r)] + emails[1:]
                links.append(f"email:{newer}")
                tags.append("email_changed")
        addr = None
        if r.random() > RATES["address_missing"] * (0.5 if c.channel == "store" else 1.6):
            addr, atags = self.address_surface(p.hh.address_at(t))
            tags += atags
        card = c.card if not (c.card_since and t < c.card_since) else (c.prev_cards[-1:] or [c.unlisted_old_card])[0]
        if c.card_since and t >= c.card_since and c.unlisted_old_card:
            tags.append("card_replaced_unlisted")
        loyalty = rd.card_surface(card, r, typed=r.random() < 0.3) if card else None
        if card:
            links.append(f"card:{card}")
        line = {
            "contact_id": c.cid,
            "first_name": first,
            "last_name": last,
            "emails": emails,
            "phones": phones,
            "loyalty_id": loyalty,
            "birth_date": birth[0],
            "address": addr,
            "preferred_language": r.choice(["en", "en", "EN", "en-US", "fr", "fr-CA", "es", "English",
                                            None]) if p.culture != "fr" else r.choice(["fr", "fr-CA", "FR"]),
            "consents": {k: r.random() < 0.6 for k in ("email", "sms", "push", "phone")},
            "updated_at": iso(t, r),
        }
        if c.prev_cards and (c.card_since is None or t >= c.card_since):
            line["previous_loyalty_ids"] = [rd.card_surface(x, r, typed=True) for x in c.prev_cards]
            links += [f"card:{x}" for x in c.prev_cards]
            tags.append("previous_card_listed")
        if c.channel == "legacy":
            line["source_system"] = "bayside"
            line["legacy_customer_no"] = c.cid[4:]
        if r.random() < 0.3:
            line["created_at"] = iso(c.created, r)
        profile = {"first": first, "last": last, "birth": birth[0],
                   "postal": addr["postal_code"] if addr else None}
        self.emit("crm", c.cid, line, t, p, tags, links, profile=profile)
        if chance(r, "contact_exact_dup"):
            self.emit("crm", c.cid, line, t + timedelta(days=400), p, tags + ["exact_dup"], links, profile=profile)
        if chance(r, "crm_malformed"):
            bad = dict(line)
            kind = r.choice(["birth_us_format", "emails_string", "updated_future"])
            if kind == "birth_us_format" and p.birth:
                bad["birth_date"] = p.birth.strftime("%m/%d/%Y")
            elif kind == "emails_string":
                bad["emails"] = ";".join(line["emails"]) or "n/a"
            else:
                bad["updated_at"] = "9999-12-31T00:00:00Z"
            self.emit("crm", c.cid, bad, t + timedelta(days=1), p, tags + [f"malformed:{kind}"], links, profile=profile)

    def is_recycled(self, phone: str) -> bool:
        return phone in self.recycled

    # ------------------------------------------------------------------ transactions

    def transactions(self) -> None:
        r = self.r
        for p in self.persons:
            rate = math.exp(r.gauss(1.7 if p.member else 0.7, 1.0))
            n = min(int(rate), 160)
            online_share = (r.uniform(0.05, 0.5) if (p.email or p.work_email) else 0.0)
            for _ in range(n):
                t = rand_time(r, TX_START, NOW)
                if r.random() < online_share:
                    self.online_tx(p, t)
                else:
                    self.store_tx(p, t)
        for s in self.stores:
            for staff in s.staff:
                cards = [c.card for c in staff.contacts if c.card]
                if not cards:
                    continue
                for _ in range(r.randrange(15, 80)):
                    t = rand_time(r, TX_START, NOW)
                    self.tx_line(staff, t, s, "store", cards[0], None, ["staff_card_for_guest"],
                                 [f"card:{cards[0]}"])

    def store_tx(self, p: Person, t: datetime) -> None:
        r = self.r
        store = p.hh.store if r.random() < 0.8 else r.choice(self.stores)
        cards = p.cards_at(t)
        if cards:
            x = r.random()
            if x < RATES["scan_card"] + RATES["phone_lookup"]:
                card, c = cards[-1] if r.random() < 0.8 else r.choice(cards)
                tag = "card_scanned" if x < RATES["scan_card"] else "phone_lookup"
                self.tx_line(p, t, store, "store", card, None, [tag], [f"card:{card}"])
                return
        elif p.quick_card and r.random() < 0.7:
            self.tx_line(p, t, store, "store", p.quick_card, None, ["quick_card"], [f"card:{p.quick_card}"])
            return
        else:
            holders = [q for q in p.hh.people if q is not p and q.cards_at(t)]
            if holders and r.random() < RATES["household_card_use"]:
                q = holders[0]
                card = q.cards_at(t)[-1][0]
                # The line carries only the holder's card: it is the holder's record.
                self.tx_line(q, t, store, "store", card, None, ["household_card", f"actor:{p.pid}"],
                             [f"card:{card}"])
                return
        self.tx_line(p, t, store, "store", None, None, ["cash_no_id"], [])

    def online_tx(self, p: Person, t: datetime) -> None:
        r = self.r
        email = p.email_at(t) or p.work_email
        tags: list[str] = []
        links: list[str] = []
        if p.work_email and r.random() < RATES["online_work_email"]:
            email = p.work_email
            tags.append("work_email")
        if email is None:
            return self.store_tx(p, t)
        cards = p.cards_at(t)
        card = cards[-1][0] if cards and r.random() < RATES["online_card"] else None
        if card:
            links.append(f"card:{card}")
        x = r.random()
        if x < RATES["online_email_typo"]:
            shown = rd.email_typo(email, r)
            tags.append("email_typo")
        elif x < RATES["online_email_typo"] + RATES["online_junk_email"] and not card:
            shown = r.choice(["a@b.com", "asdf@asdf.com", "no@no.no", "fake@fake.com", "me@me.com",
                              "test@test.com"])
            tags.append("online_junk_email")
        else:
            shown = rd.email_surface(email, r)
            links.append(f"email:{email}")
        store = None
        if card and r.random() < RATES["bopis_store_email"]:
            store = p.hh.store
            shown = store.email
            tags.append("bopis_store_email")
            links = [x for x in links if not x.startswith("email:")]
        elif not p.member and not card and r.random() < RATES["staff_order_for_guest"] and p.hh.store.staff:
            s = r.choice(p.hh.store.staff)
            scards = s.cards_at(t)
            if scards:
                card = scards[-1][0]
                store = p.hh.store
                tags.append("staff_card_on_guest_order")
        self.tx_line(p, t, store, "online", card, shown, tags, links)

    def tx_line(self, p: Person, t: datetime, store: Store | None, channel: str, card: str | None,
                email: str | None, tags: list[str], links: list[str]) -> None:
        r = self.r
        self.tx_seq += 1
        if channel == "store" and store:
            tid = f"{store.sid}-{r.randrange(1, 9):02d}-{t:%Y%m%d}-{self.tx_seq:07d}"
        else:
            tid = f"WEB-{self.tx_seq + 40_000_000:09d}"
        items = []
        for _ in range(r.choice([1, 1, 2, 3, 4, 6, 9])):
            cat = r.choice(list(CATEGORIES))
            lo, hi = CATEGORIES[cat]
            items.append({"sku": f"{cat[:3].upper()}-{r.randrange(10**5):05d}", "category": cat,
                          "quantity": r.choice([1, 1, 1, 2, 3]), "unit_price_cents": r.randrange(lo, hi)})
        amount = sum(i["quantity"] * i["unit_price_cents"] for i in items)
        cad = (store.city[2] if store else p.hh.address.city[2]) == "CA"
        currency = "CAD" if cad else "USD"
        if r.random() < 0.02:
            currency = currency.lower()
        line = {
            "transaction_id": tid,
            "loyalty_id": rd.card_surface(card, r, typed="phone_lookup" in tags) if card else None,
            "email": email,
            "store_id": store.sid if store else ("WEB" if channel == "online" else None),
            "channel": channel,
            "occurred_at": iso(t, r),
            "amount_cents": amount,
            "currency": currency,
            "points_earned": amount // 100 if card else 0,
            "points_redeemed": r.choice([0] * 9 + [500]) if card else 0,
            "status": "completed",
            "items": items,
        }
        if channel == "store" and r.random() < 0.2:
            line["register"] = tid.split("-")[1]
            line["tender"] = r.choice(["visa", "cash", "debit", "mastercard", "amex"])
        self.emit("transactions", tid, line, t, p, tags, links)
        x = r.random()
        if x < RATES["status_update"]:
            upd = dict(line, status="refunded", amount_cents=-amount, points_earned=0,
                       updated_at=iso(t + timedelta(days=r.randrange(1, 40)), r))
            self.emit("transactions", tid, upd, t + timedelta(days=40), p, tags + ["status_update"], links)
        elif x < RATES["status_update"] + RATES["cancel_update"] and channel == "online":
            upd = dict(line, status="cancelled", updated_at=iso(t + timedelta(hours=r.randrange(1, 48)), r))
            self.emit("transactions", tid, upd, t + timedelta(days=2), p, tags + ["cancel_update"], links)
        elif x < RATES["status_update"] + RATES["cancel_update"] + RATES["refund_line"]:
            rid = f"RF-{tid}"
            ref = dict(line, transaction_id=rid, status="refunded", amount_cents=-items[0]["unit_price_cents"],
                       items=items[:1], points_earned=0, points_redeemed=0,
                       occurred_at=iso(t + timedelta(days=r.randrange(1, 60)), r))
            self.emit("transactions", rid, ref, t + timedelta(days=30), p, tags + ["refund_line"], links)
        if chance(r, "tx_exact_dup"):
            self.emit("transactions", tid, line, t, p, tags + ["exact_dup"], links)
        if chance(r, "tx_malformed"):
            self.tx_malformed(line, t, p, tags, links)

    def tx_malformed(self, line: dict, t: datetime, p: Person, tags: list[str], links: list[str]) -> None:
        r = self.r
        bad = dict(line)
        bad["transaction_id"] = line["transaction_id"] + "-X"
        kind = r.choice(["amount_decimal_string", "amount_overflow", "date_zero", "date_far_future",
                         "points_negative", "channel_unknown", "status_caps", "truncated"])
        if kind == "amount_decimal_string":
            bad["amount_cents"] = f"{line['amount_cents'] / 100:.2f}"
        elif kind == "amount_overflow":
            bad["amount_cents"] = 2**32 + line["amount_cents"]
        elif kind == "date_zero":
            bad["occurred_at"] = "0000-00-00T00:00:00"
        elif kind == "date_far_future":
            bad["occurred_at"] = "2099-01-01T00:00:00Z"
        elif kind == "points_negative":
            bad["points_earned"] = -line["points_earned"] - 10
        elif kind == "channel_unknown":
            bad["channel"] = "in-store"
        elif kind == "status_caps":
            bad["status"] = "COMPLETED"
        if kind == "truncated":
            raw = json.dumps(bad, ensure_ascii=False)
            self.emit("transactions", bad["transaction_id"], raw[: len(raw) // 2], t, p,
                      tags + [f"malformed:{kind}"], links)
        else:
            self.emit("transactions", bad["transaction_id"], bad, t, p, tags + [f"malformed:{kind}"], links)

    # ------------------------------------------------------------------ web analytics

    def web(self) -> None:
        r = self.r
        for p in self.persons:
            has_mail = bool(p.email)
            share = (RATES["web_member"] if p.member else
                     RATES["web_nonmember_email"] if has_mail else RATES["web_no_email"])
            if not chance_of(r, share):
                self.email_events(p)
                continue
            devices = [["phone", self.anon_epochs(ios=r.random() < 0.5)]]
            if r.random() < 0.5:
                devices.append(["desktop", self.anon_epochs(ios=False)])
            if p.employer and r.random() < 0.3:
                devices.append(["work", self.anon_epochs(ios=False)])
            if p.hh.shared_device and r.random() < 0.7:
                devices.append(["family", [(WEB_START, p.hh.shared_device)]])
            p.devices = devices
            n_sessions = min(int(math.exp(r.gauss(1.1, 0.9))) + 1, 70)
            for _ in range(n_sessions):
                t = rand_time(r, WEB_START, NOW)
                self.session(p, t)
            self.email_events(p)
        for b in range(max(2, int(self.n * RATES["bot_per_person"]))):
            self.bot(b)

    def anon_epochs(self, ios: bool) -> list[tuple[datetime, str]]:
        r = self.r
        out = [(WEB_START - timedelta(days=1), self.anon())]
        t = WEB_START
        step = 60 if ios else 240
        while True:
            t = t + timedelta(days=r.expovariate(1 / step))
            if t >= NOW:
                break
            out.append((t, self.anon()))
        return out

    def device_anon(self, p: Person, t: datetime, kind: str | None = None) -> tuple[str, str]:
        r = self.r
        devs = p.devices or [["phone", [(WEB_START, self.anon())]]]
        p.devices = devs
        dev = r.choice([d for d in devs if kind is None or d[0] == kind] or devs)
        anon = dev[1][0][1]
        for since, a in dev[1]:
            if since <= t:
                anon = a
        return dev[0], anon

    def web_contact(self, p: Person) -> Contact | None:
        if not p.contacts:
            return None
        webs = [c for c in p.contacts if c.channel == "web"]
        return webs[-1] if webs else p.contacts[-1]

    def session(self, p: Person, t: datetime) -> None:
        r = self.r
        tags: list[str] = []
        x = r.random()
        if x < RATES["public_computer_session"]:
            anon, kind = r.choice(self.public_pcs), "public"
            tags.append("public_computer")
        elif x < RATES["public_computer_session"] + RATES["kiosk_session"] and p.member:
            anon, kind = p.hh.store.kiosk, "kiosk"
            tags.append("store_kiosk")
        else:
            kind, anon = self.device_anon(p, t)
            if kind == "family":
                tags.append("shared_device")
        contact = self.web_contact(p)
        login = contact is not None and t >= contact.created and (
            r.random() < (0.8 if kind in ("public", "kiosk") else RATES["session_login"]))
        ident_email = not login and p.email and r.random() < RATES["nonmember_identify"] * (0.3 if p.member else 1)
        n = r.randrange(2, 8)
        logged = False
        for i in range(n):
            t = t + timedelta(seconds=r.randrange(5, 300))
            if i == 1 and login:
                logged = True
                self.web_event(p, t, anon, "identify", None, contact.cid, p.email_at(t) if r.random() < 0.6 else None,
                               tags + ["login"])
                continue
            if i == 1 and ident_email:
                self.web_event(p, t, anon, "identify", "Newsletter Signup", None, p.email_at(t), tags + ["email_form"])
                continue
            name = r.choice([None, None, "Product Viewed", "Product Viewed", "Product Added", "Products Searched",
                             "Checkout Started", "Offer Viewed"])
            if logged and r.random() < 0.05:
                name = "Offer Redeemed"
            self.web_event(p, t, anon, "page" if name is None else "track", name,
                           contact.cid if logged else None, None, tags)

    def web_event(self, p: Person, t: datetime, anon: str, typ: str, name: str | None, user_id: str | None,
                  email: str | None, tags: list[str], *, foreign_email: bool = False) -> None:
        r = self.r
        self.ev_seq += 1
        eid = f"evt_{self.seed:02d}{self.ev_seq:09d}" if r.random() < 0.7 else self.anon()
        links = [f"anon:{anon}"]
        tags = list(tags)
        shown_uid = user_id
        if user_id:
            links.append(f"crm:{user_id}")
            x = r.random()
            if x < RATES["user_id_bug"]:
                shown_uid = r.choice(["undefined", "null", "0", "", "[object Object]", "guest", "None"])
                tags.append("user_id_bug")
                links.remove(f"crm:{user_id}")
            elif x < RATES["user_id_bug"] + RATES["user_id_is_email"] and p.email:
                shown_uid = p.email
                tags.append("user_id_is_email")
                links.remove(f"crm:{user_id}")
                links.append(f"email:{p.email}")
        shown_email = None
        if email:
            shown_email = rd.email_surface(email, r)
            if not foreign_email:
                links.append(f"email:{email}")
        props: dict = {"path": r.choice(["/", "/weekly-flyer", "/p/" + str(r.randrange(10**5)), "/cart",
                                         "/account", "/stores", "/offers"])}
        if name in ("Product Viewed", "Product Added"):
            props["sku"] = f"{r.choice(list(CATEGORIES))[:3].upper()}-{r.randrange(10**5):05d}"
        if name and name.startswith("Email"):
            props = {"campaign": f"wk{t:%G%V}", "mailer": "listmonk"}
        line = {"event_id": eid, "anonymous_id": anon, "user_id": shown_uid, "email": shown_email,
                "type": typ, "name": name, "occurred_at": iso(t, r), "properties": props}
        if r.random() < 0.05:
            line["context"] = {"userAgent": r.choice(["Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Windows NT 10.0)"]),
                               "ip": f"{r.randrange(1, 255)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}"}
        if anon in self.shared_anons:
            links.remove(f"anon:{anon}")
        self.emit("web_analytics", eid, line, t, p, tags, links)
        if chance(r, "web_exact_dup"):
            self.emit("web_analytics", eid, line, t, p, tags + ["exact_dup"], links)
        elif chance(r, "web_id_reuse"):
            other = dict(line, name="Product Viewed", type="track",
                         occurred_at=iso(t + timedelta(seconds=2), r))
            self.emit("web_analytics", eid, other, t, p, tags + ["event_id_reused"], links)
        if chance(r, "web_malformed"):
            bad = dict(line, event_id=eid + "-m")
            kind = r.choice(["anon_empty", "type_unknown", "time_garbage"])
            if kind == "anon_empty":
                bad["anonymous_id"] = ""
            elif kind == "type_unknown":
                bad["type"] = "pageview"
            else:
                bad["occurred_at"] = "NaN"
            self.emit("web_analytics", eid + "-m", bad, t, p, tags + [f"malformed:{kind}"], links)

    def email_events(self, p: Person) -> None:
        r = self.r
        if not p.member or not p.email or not chance(r, "email_consent"):
            return
        for _ in range(r.randrange(0, 20)):
            t = rand_time(r, WEB_START, NOW)
            mail = p.email_at(t)
            if p.apple_mail:
                # Apple Mail Privacy Protection fetches every message through Apple's proxies:
                # the "open" is seen from a proxy fingerprint that many recipients share.
                self.web_event(p, t, r.choice(self.mpp_proxies), "track", "Email Opened", None, mail,
                               ["mpp_open"])
                if r.random() > 0.15:
                    continue
            elif r.random() < 0.5:
                continue
            else:
                kind, anon = self.device_anon(p, t, "phone")
                self.web_event(p, t, anon, "track", "Email Opened", None, mail, ["email_open"])
            if r.random() < 0.25:
                t2 = t + timedelta(minutes=r.randrange(1, 600))
                if chance(r, "forwarded_click"):
                    others = [q for q in p.hh.people if q is not p] or [r.choice(self.persons)]
                    q = r.choice(others)
                    _, anon = self.device_anon(q, t2)
                    self.web_event(q, t2, anon, "track", "Email Clicked", None, mail,
                                   ["forwarded_click", f"email_of:{p.pid}"], foreign_email=True)
                else:
                    _, anon = self.device_anon(p, t2)
                    self.web_event(p, t2, anon, "track", "Email Clicked", None, mail, ["email_click"])

    def bot(self, b: int) -> None:
        r = self.r
        bot = Person("", self.households[0], "bot", "bot", "M", "en", date(2000, 1, 1))
        bot.pid = f"BOT{self.seed:02d}{b:05d}"
        anon = self.anon()
        t = rand_time(r, WEB_START, NOW)
        for _ in range(r.randrange(20, 200)):
            t += timedelta(seconds=r.randrange(1, 30))
            self.web_event(bot, t, anon, "page", None, None, None, ["bot"])
        if r.random() < 0.3:
            self.web_event(bot, t, anon, "identify", "Newsletter Signup", None,
                           r.choice(["test@test.com", "admin@example.com", "a@a.com"]), ["bot", "bot_form"],
                           foreign_email=True)

    # ------------------------------------------------------------------ call center

    def calls(self) -> None:
        r = self.r
        agents = [f"AG{r.randrange(100, 999)}" for _ in range(max(6, self.n // 800))]
        last_by_agent: dict[str, Contact] = {}
        callers = []
        for p in self.persons:
            if chance_of(r, RATES["caller_member"] if p.member else RATES["caller_nonmember"]):
                n = r.choice([1, 1, 1, 2, 2, 3]) if r.random() > 0.01 else r.randrange(5, 12)
                callers += [(rand_time(r, CALL_START, NOW), p) for _ in range(n)]
        callers.sort(key=lambda x: x[0])
        for t, p in callers:
            agent = r.choice(agents)
            self.call(p, t, agent, last_by_agent)

    def call(self, p: Person, t: datetime, agent: str, last_by_agent: dict) -> None:
        r = self.r
        tags: list[str] = []
        links: list[str] = []
        subject = p
        caller = p
        if p.relative and p.member and p.age_at(t) >= 72 and chance(r, "call_on_behalf"):
            caller = p.relative
            tags.append(f"on_behalf_by:{caller.pid}")
        x = r.random()
        phone: str | None
        cum = 0.0
        choice = "other"
        for k in ("caller_own_mobile", "caller_landline", "caller_work", "caller_withheld",
                  "caller_household_phone"):
            cum += RATES[k]
            if x < cum:
                choice = k
                break
        phone = None
        shown: str | None = None
        if choice == "caller_landline" and caller.hh.landline:
            phone = caller.hh.landline
            tags.append("landline")
        elif choice == "caller_work" and caller.employer:
            phone = self.switchboards[caller.employer]
            tags.append("work_switchboard")
        elif choice == "caller_withheld":
            tags.append("withheld")
            shown = r.choice(["Anonymous", "Unknown", "PRIVATE", "", "0000000000", None, "+10000000000"])
        elif choice == "caller_household_phone":
            other = [q for q in caller.hh.people if q is not caller and q.mobile_at(t)]
            if other:
                phone = other[0].mobile_at(t)
                tags.append("household_members_phone")
        if phone is None and choice != "caller_withheld":
            phone = caller.mobile_at(t) or caller.hh.landline
        if phone is not None:
            shown = rd.phone_surface(phone, r)
            if (caller is subject and phone == subject.mobile_at(t) and not self.is_recycled(phone)):
                links.append(f"phone:{phone}")
            elif phone == caller.mobile_at(t) and caller is not subject:
                tags.append("caller_phone_is_relatives")
        ref = None
        contacts = [c for c in subject.contacts if c.created <= t]
        y = r.random()
        if contacts and y < 0.35:
            c = r.choice(contacts)
            ref = {"kind": "crm_id", "value": rd.crm_surface(c.cid, r)}
            links.append(f"crm:{c.cid}")
        elif contacts and y < 0.60:
            cards = subject.cards_at(t)
            if cards:
                card = cards[-1][0]
                ref = {"kind": "loyalty_id", "value": rd.card_surface(card, r, typed=True)}
                links.append(f"card:{card}")
        elif (contacts and y < 0.75 or not contacts and y < 0.30) and subject.email_at(t):
            mail = subject.email_at(t)
            if chance(r, "agent_email_typo"):
                ref = {"kind": "email", "value": rd.email_typo(mail, r)}
                tags.append("agent_email_typo")
            else:
                ref = {"kind": "email", "value": rd.email_surface(mail, r, clerk=True)}
                links.append(f"email:{mail}")
        z = r.random()
        if ref and z < RATES["agent_wrong_account"]:
            same = [q for q in self.by_last[rd.strip_accents(subject.last)] if q is not subject and q.contacts]
            wrong = r.choice(same) if same and r.random() < 0.6 else None
            if wrong is None:
                wrong = r.choice(self.contacts).person
            if wrong is not subject and wrong.contacts:
                wc = r.choice(wrong.contacts)
                ref = {"kind": "crm_id", "value": rd.crm_surface(wc.cid, r)}
                links = [x for x in links if x.startswith("phone:")]
                tags.append(f"agent_wrong_account:{wrong.pid}")
        elif ref and z < RATES["agent_wrong_account"] + RATES["agent_stale_screen"] and agent in last_by_agent:
            wc = last_by_agent[agent]
            if wc.person is not subject:
                ref = {"kind": "crm_id", "value": wc.cid}
                links = [x for x in links if x.startswith("phone:")]
                tags.append(f"agent_stale_screen:{wc.person.pid}")
        if contacts:
            last_by_agent[agent] = contacts[-1]
        self.call_seq += 1
        iid = f"CC-{t:%Y%m%d}-{self.call_seq:06d}"
        notes = r.choice(["", "cust asked about points", "verified DOB", "escalated to supervisor",
                          "called re order", "wants paper receipts", "update email requested",
                          "caller is daughter of account holder" if caller is not subject else "",
                          f"cb # {rd.phone_surface(caller.mobile_at(t), r)}" if caller.mobile_at(t) else ""])
        line = {"interaction_id": iid, "caller_phone": shown, "account_ref": ref, "agent_id": agent,
                "started_at": iso(t, r), "duration_s": int(r.expovariate(1 / 300)),
                "reason": r.choice(CALL_REASONS), "sentiment": round(r.uniform(-1, 1), 2),
                "resolved": r.random() < 0.75, "notes": notes}
        self.emit("call_center", iid, line, t, subject, tags, links)
        if chance(r, "call_exact_dup"):
            self.emit("call_center", iid, line, t, subject, tags + ["exact_dup"], links)
        if chance(r, "call_malformed"):
            kind = r.choice(["sentiment_out_of_range", "duration_negative", "started_at_eu_format"])
            bad = dict(line, interaction_id=iid + "-m")
            if kind == "sentiment_out_of_range":
                bad["sentiment"] = r.choice([1.7, -3, 5])
            elif kind == "duration_negative":
                bad["duration_s"] = -r.randrange(1, 90)
            else:
                bad["started_at"] = t.strftime("%d/%m/%Y %H:%M")
            self.emit("call_center", iid + "-m", bad, t, subject, tags + [f"malformed:{kind}"], links)

    # ------------------------------------------------------------------ output

    def emit(self, source: str, key: str, line: dict | str, t: datetime, p: Person, tags: list[str],
             links: list[str], profile: dict | None = None) -> None:
        truth = {"source": source, "id": key, "person": p.pid, "household": p.hh.hid,
                 "tags": tags, "links": sorted(set(links))}
        if profile:
            truth["profile"] = profile
        self.lines[source].append({"t": t, "line": line, "truth": truth})
        self.counts[f"lines:{source}"] += 1
        for tag in tags:
            self.counts[f"tag:{source}:{tag.split(':')[0]}"] += 1

    def run(self) -> None:
        self.build()
        self.recycled = {p.mobile for p in self.persons if p.old_mobile and p.mobile and any(
            q.old_mobile == p.mobile for q in self.persons if q is not p)} if False else set()
        olds = {p.old_mobile for p in self.persons if p.old_mobile}
        self.recycled = {p.mobile for p in self.persons if p.mobile in olds}
        self.shared_anons = set(self.mpp_proxies) | set(self.public_pcs) | {s.kiosk for s in self.stores} | {
            h.shared_device for h in self.households if h.shared_device}
        self.contact_lines()
        self.transactions()
        self.web()
        self.calls()
        self.register_owners()

    def register_owners(self) -> None:
        """Who owns each identifier value: a person, a household, a store, or nobody (a
        placeholder, a proxy, a public computer). The evaluator explains merges with it."""
        own = self.owners
        for p in self.persons:
            for e in (p.email, p.old_email, p.work_email):
                if e:
                    own[("email", e)].add(p.pid)
            for m in (p.mobile, p.old_mobile):
                if m:
                    own[("phone", m)].add(p.pid)
            for c in p.contacts:
                own[("crm", c.cid)].add(p.pid)
                for card in [c.card, c.unlisted_old_card, *c.prev_cards]:
                    if card:
                        own[("card", card)].add(p.pid)
            if p.quick_card:
                own[("card", p.quick_card)].add(p.pid)
            for kind, epochs in p.devices:
                if kind != "family":
                    for _, a in epochs:
                        own[("anon", a)].add(p.pid)
        for h in self.households:
            if h.landline:
                own[("phone", h.landline)].add(f"household:{h.hid}")
            if h.family_email:
                own[("email", h.family_email)].add(f"household:{h.hid}")
            if h.shared_device:
                own[("anon", h.shared_device)].add(f"household:{h.hid}")
        for s in self.stores:
            own[("email", s.email)].add(f"store:{s.sid}")
            own[("phone", s.phone)].add(f"store:{s.sid}")
            own[("anon", s.kiosk)].add(f"kiosk:{s.sid}")
            if s.email_habit and s.email_habit != s.email:
                own[("email", s.email_habit)].add("placeholder")
            if s.phone_habit and s.phone_habit != "STORE":
                own[("phone", s.phone_habit)].add("placeholder")
        for a in self.mpp_proxies:
            own[("anon", a)].add("proxy:apple-mpp")
        for a in self.public_pcs:
            own[("anon", a)].add("public-computer")
        for dom, ph in self.switchboards.items():
            own[("phone", ph)].add(f"switchboard:{dom}")
        for e in ("a@b.com", "asdf@asdf.com", "no@no.no", "fake@fake.com", "me@me.com", "test@test.com",
                  "admin@example.com", "a@a.com"):
            own[("email", e)].add("placeholder")
        for v in ("0000000000", "+10000000000"):
            own[("phone", v)].add("placeholder")

    def write(self, out: Path) -> None:
        r = self.r
        out.mkdir(parents=True, exist_ok=True)
        (out / "truth").mkdir(exist_ok=True)
        with (out / "truth" / "lines.jsonl").open("w") as tf:
            for source in ("crm", "transactions", "web_analytics", "call_center"):
                rows = sorted(self.lines[source], key=lambda x: x["t"])
                # Late lines: an offline till, a retried webhook, a re-exported batch.
                late = [i for i in range(len(rows)) if r.random() < RATES["late_line"]]
                moved = [rows[i] for i in late]
                late_set = set(late)
                rows = [x for i, x in enumerate(rows) if i not in late_set]
                for x in moved:
                    x["truth"]["tags"].append("late_line")
                    rows.insert(r.randrange(len(rows) + 1) if r.random() < 0.3 else len(rows), x)
                with (out / f"{source}.jsonl").open("w") as f:
                    for n, x in enumerate(rows, 1):
                        line = x["line"]
                        f.write((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n")
                        tf.write(json.dumps(dict(x["truth"], line=n), ensure_ascii=False) + "\n")
        people = [{"person": p.pid, "household": p.hh.hid, "member": p.member,
                   "staff": p.staff_store is not None, "contacts": [c.cid for c in p.contacts],
                   "junior": p.junior, "birth": p.birth.isoformat(),
                   "relative": p.relative.pid if p.relative else None}
                  for p in self.persons]
        with (out / "truth" / "people.jsonl").open("w") as f:
            for row in people:
                f.write(json.dumps(row) + "\n")
        manifest = {"generator": "foreign6 make_foreign.py", "version": self.version, "people": self.n, "seed": self.seed,
                    "households": len(self.households), "stores": len(self.stores),
                    "crm_contacts": len(self.contacts), "rates": RATES,
                    "counts": dict(sorted(self.counts.items()))}
        with (out / "truth" / "tokens.jsonl").open("w") as f:
            for (kind, value), owners in sorted(self.owners.items()):
                f.write(json.dumps({"kind": kind, "value": value, "owners": sorted(owners)},
                                   ensure_ascii=False) + "\n")
        (out / "truth" / "manifest.json").write_text(json.dumps(manifest, indent=1))


def chance_of(r: random.Random, p: float) -> bool:
    return r.random() < p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--version", type=int, default=VERSION, choices=[1, 2],
                    help="generator version to reproduce (data sets are named v<version>-...)")
    a = ap.parse_args()
    w = World(a.people, a.seed, a.version)
    w.run()
    w.write(a.out)
    c = w.counts
    print(f"{a.people} people, {len(w.households)} households, {len(w.contacts)} CRM contacts; lines: "
          + ", ".join(f"{s} {c[f'lines:{s}']}" for s in ("crm", "transactions", "web_analytics", "call_center")))


if __name__ == "__main__":
    main()
