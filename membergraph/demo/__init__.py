"""A synthetic, deterministic and deliberately messy data set with known truth.

``write_demo_data(out, members=1000, seed=7)`` writes the four source files of DESIGN.md and
``truth.jsonl`` (one line per source line: which person it belongs to). The mess is what real
sources hold: e-mails in several casings and with spaces, phones in many formats, loyalty
numbers with dashes or lower case, households sharing a landline and sometimes an e-mail,
duplicate CRM contacts whose names drift (case, typos, dropped letters, short forms, accents,
first and last swapped), movers, twins sharing everything but the first name, Gmail dots,
visitors who browse anonymously and later log in, shared family computers, online orders
without a card, placeholders typed at the till (``na@na.com``, the store's own address,
``0000000000``) also on guest purchases with nothing else, a call center's hold line as
caller number, agents typing another member's card number or slipping on one digit of it,
duplicate contacts with only an initial for a first name, and purchase lines a till sent
twice. Since the fourth round (``default`` only: ``holdout`` stays byte for byte what it
was): duplicates whose address was typed again without the house number and with a slip in
the postcode, under a new family name (a marriage), or with the birth date left out or its
day and month swapped; guests' purchases scanned with the till's house card; callers
ringing from a number nobody has on file (work); an agent's slip in a typed e-mail. Since the
seventh round (both profiles, a stream of its own): duplicates made at a re-enrolment (a new
card, no birth date), contact ids agents type otherwise (``c0012345``, ``C-0012345``,
``12345``), and an elder's e-mail on a young adult's first contact version; on the web (a
stream of its own), Apple-Mail readers' opens through a privacy proxy's shared device ids
naming only their e-mail, and browsers whose anonymous id is renewed every few weeks. Since
the ninth round (a stream of its own): a young adult's contact that still carries the
elder's e-mail the parent enrolled it with. Since the tenth round (a stream of its own): a
son named after his father, his contacts written with ``Jr.`` and his father's with ``Sr.``
only as often as the form has room for it. Since the thirteenth round (a stream of its
own): an elder whose address, on a young adult's contact, is a first name and digits
(``priya401@``), naming the parent by a first name alone. Since the thirtieth round (each
a stream of its own): a young adult's web orders with her card under the elder's address; a
relative calling for a household member, the agent typing her contact id or card while the
switch shows the relative's own phone. Since the thirty-second round (each a stream of its
own, its lines written after every other line, so that everyone it does not touch keeps
hers): a parent whose contact and card fall silent and a namesake child who enrols days or
months later on the parent's e-mail, undated, with a card and a mobile of his own
(``namesakes.py``); a household's address naming none of it (``family.home42@``) or only the
family (``thesmiths1990@``) on a parent's and a student's contacts, the student ordering
under her own address too, the handle's card-less orders the parent's or the student's
(``handles.py``); her older undated contact kept in use, its card ordering under an address
no contact holds (``old_contacts.py``); a couple's joint contact, ``Mary & John``
(``joint_contacts.py``). :attr:`DemoSummary.phenomena` names whom each touched.

Each phenomenon happens at a rate of a :class:`~membergraph.demo.profiles.Profile`:
``default`` for the demo, ``holdout`` for measuring on data the engine was not tuned on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from membergraph.demo.call_center import calls_lines, relatives_calls
from membergraph.demo.crm import crm_lines
from membergraph.demo.generations import name_sons_after_fathers
from membergraph.demo.handles import give_handles, handle_orders
from membergraph.demo.joint_contacts import joint_contacts
from membergraph.demo.namesakes import namesake_sons, silence_fathers
from membergraph.demo.old_contacts import old_contacts
from membergraph.demo.parents_address import parents_address_orders
from membergraph.demo.people import (
    Generator,
    Person,
    Writer,
    a_generation_older,
    eldest_with_email,
)
from membergraph.demo.profiles import PROFILES, ProfileName
from membergraph.demo.showcase import showcase_lines
from membergraph.demo.transactions import shift_days, transactions_lines
from membergraph.demo.vocabulary import CITIES, DOMAINS, NOW, STREETS
from membergraph.demo.web_analytics import (
    opened_lines,
    proxy_lines,
    shared_computer_lines,
    web_lines,
)

__all__ = ["PROFILES", "DemoSummary", "ProfileName", "generator_version", "write_demo_data"]


@cache
def generator_version() -> str:
    """What says which generator wrote a data set: a digest of this package's code. A cached
    data set is kept under it, so one an older generator wrote (without Jane Doe, say) is
    written again rather than served."""
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class DemoSummary:
    """What :func:`write_demo_data` wrote."""

    people: int
    lines: dict[str, int]
    # Who each later phenomenon touched (its name: one tuple per case, its kind then the
    # people's ids), for scoring it on its own.
    phenomena: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)


def _twins_family_email(gen: Generator, people: list[Person], family_email: dict[int, str]) -> None:
    """Twins named a letter apart who both give the household's e-mail (a family address
    made for them if the household had none): one person to a careless rule."""
    by_id = {person.id: person for person in people}
    for twin in people:
        first = by_id.get(twin.twin_of or "")
        if first is None or not (twin.in_crm and first.in_crm):
            continue
        if twin.named_close and gen.fifth.random() < gen.profile.twin_family_email:
            shared = family_email.setdefault(
                twin.household, f"the.{first.last.lower()}.family{twin.household}@mail.com"
            )
            first.family = twin.family = shared


def _elders_emails(gen: Generator, households: dict[int, list[Person]]) -> None:
    """Young adults (25 or younger) whose first contact carried an elder's e-mail: the
    oldest household member's, at least 18 years older (seventh round). Some elders'
    addresses are their first name and digits (``priya401@``, thirteenth round): the
    address then names the parent by a first name alone."""
    rate = gen.profile.elder_email
    if rate <= 0:
        return
    for members_ in households.values():
        eldest, renamed = eldest_with_email(members_), False
        if eldest is None:
            continue
        for person in members_:
            young = person.birth.year >= NOW.year - 25 and person.in_crm
            if young and a_generation_older(eldest, person) and gen.seventh.random() < rate:
                if not renamed and eldest.email and eldest.first != person.first:
                    renamed = True
                    if gen.thirteenth.random() < gen.profile.elder_email_first_name:
                        # The same domain: the rest of the data set stays what it was.
                        number = gen.thirteenth.randrange(10, 1000)
                        domain = eldest.email.partition("@")[2]
                        eldest.email = f"{eldest.first.lower()}{number}@{domain}"
                person.elder_email = eldest.email


def write_demo_data(
    out: Path, members: int = 1000, seed: int = 7, profile: str = "default"
) -> DemoSummary:
    """Write ``crm.jsonl``, ``transactions.jsonl``, ``web_analytics.jsonl``,
    ``call_center.jsonl`` and ``truth.jsonl`` into ``out``; the same seed and profile give
    the same bytes.

    Raises:
        KeyError: ``profile`` is not one of :data:`PROFILES`.
    """
    gen = Generator(members, seed, PROFILES[profile])
    rng, rates = gen.rng, gen.profile
    people = gen.people()
    households: dict[int, list[Person]] = {}
    for person in people:
        households.setdefault(person.household, []).append(person)
    landline = {h: gen.phone() for h in households if rng.random() < rates.landline}
    family_email = {
        h: f"the.{members_[0].last.lower()}.family{h}@{rng.choice(DOMAINS)}"
        for h, members_ in households.items()
        if len(members_) > 1 and rng.random() < rates.family_email
    }
    address = {
        h: (f"{rng.randrange(1, 999)} {rng.choice(STREETS)} St", *rng.choice(CITIES))
        for h in households
    }
    writer = Writer(out)
    try:
        for person in people:
            if rng.random() < 0.7:
                person.card = f"LD{rng.randrange(10**7, 10**8)}"
                if gen.fifth.random() < rates.long_card:  # the new series: 13 digits
                    person.card = str(gen.fifth.randrange(10**12, 10**13))
            person.in_crm = rng.random() < 0.85
            shared = family_email.get(person.household)
            # Whoever uses the family e-mail gave it to the CRM too: a family e-mail is then on
            # two CRM people (shared) or on its one user, never silently on someone else.
            if shared and person.in_crm and (person.email is None or rng.random() < 0.5):
                person.family = shared
        _twins_family_email(gen, people, family_email)
        _elders_emails(gen, households)
        name_sons_after_fathers(gen, households)
        fathers = silence_fathers(gen, writer, households)
        taken = {father.id for father, _ in fathers}
        handles = give_handles(gen, households, family_email, taken)
        taken |= {p.id for parent, student, _ in handles for p in (parent, student)}
        taken |= joint_contacts(gen, households, taken)
        for person in people:
            crm_lines(
                gen,
                writer,
                person,
                landline.get(person.household),
                family_email.get(person.household),
                address[person.household],
            )
        cards = [p.card for p in people if p.card]
        gen.friends = [p.email for p in people if p.email]
        if rates.cashier_card > 0 and cards:  # a cashier for every three stores, a customer
            gen.cashiers = gen.fifth.sample(cards, min(13, len(cards)))
            for cashier in gen.cashiers:
                if gen.sixth.random() < rates.cashier_shifts:
                    gen.shifts[cashier] = shift_days(gen)
        for person in people:
            transactions_lines(gen, writer, person, family_email.get(person.household))
            web_lines(gen, writer, person, family_email.get(person.household))
            calls_lines(gen, writer, person, landline.get(person.household), cards)
        parents_address_orders(gen, writer, households)
        for members_ in households.values():
            shared_computer_lines(gen, writer, members_)
        proxy_lines(gen, writer, people)
        opened_lines(gen, writer, people)
        relatives_calls(gen, writer, list(households.values()), landline)
        showcase_lines(writer)
        # The thirty-second round's lines, last: every line before them stays in its place.
        namesake_sons(gen, writer, fathers, address)
        handle_orders(gen, writer, handles)
        old_contacts(gen, writer, people, address, taken)
        writer.finish()
    finally:
        writer.close()
    counts = {k: v for k, v in writer.counts.items() if k != "truth"}
    return DemoSummary(len(people) + gen.added_people, counts, gen.touched)
