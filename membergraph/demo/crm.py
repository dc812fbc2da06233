"""The CRM's lines a person leaves: her contacts, with the duplicates, moves and older
versions a real CRM export holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from membergraph.demo.generations import written_family_name
from membergraph.demo.names import mistyped, name_variant, retyped_address
from membergraph.demo.people import Generator, Person, Writer, happens
from membergraph.demo.renewals import renewed_phones, slipped_birth
from membergraph.demo.slips import as_given, duplicate_first_name, till_reenrolment_emails
from membergraph.demo.vocabulary import (
    CITIES,
    DOMAINS,
    LAST,
    PHONE_PLACEHOLDERS,
    STREETS,
    TILL_PLACEHOLDERS,
)

__all__ = ["crm_lines"]


def _crm_phones(gen: Generator, p: Person, copy: int, landline: str | None) -> list[str]:
    rng = gen.rng
    phones = [gen.messy_phone(p.mobile)] if p.mobile and (copy == 0 or rng.random() < 0.7) else []
    if landline:
        phones.append(gen.messy_phone(landline))
    if rng.random() < gen.profile.crm_placeholder_phone:
        phones = [rng.choice(PHONE_PLACEHOLDERS)]  # the form wanted a number
    return phones


def crm_lines(
    gen: Generator,
    w: Writer,
    p: Person,
    landline: str | None,
    family: str | None,
    address: tuple[str, str, str],
) -> None:
    rng, profile = gen.rng, gen.profile
    if not p.in_crm:
        return  # not every customer is in the CRM
    duplicate = rng.random() < profile.duplicate  # as every CRM has them
    moved = not duplicate and rng.random() < profile.mover  # a new contact after a move
    variants = list(profile.name_variants)
    weights = list(profile.name_variants.values())
    for copy in range(2 if duplicate or moved else 1):
        gen.uid("C", 7)  # drawn as before: the rest of the data set stays what it was
        # The CRM's own form, C and seven digits: what agents' other spellings are read to.
        contact_id = f"C{gen.serial:07d}"
        p.contacts.append(contact_id)
        emails = [as_given(gen, gen.messy_email(p.email))] if p.email else []
        if p.family:
            emails.append(p.family)
        # The form wanted an e-mail: most often from people who have none.
        if rng.random() < profile.crm_placeholder_email * (1 if emails else 10):
            emails = [rng.choice(TILL_PLACEHOLDERS[profile.placeholders])]
        if p.handle:  # the household's address naming none of it (demo/handles.py)
            emails.append(p.handle)
        first, last = p.first, p.last
        if copy == 0 and p.joint_first:  # a couple's joint contact (demo/joint_contacts.py)
            first = p.joint_first
        home = address
        if copy == 1:
            variant = rng.choices(variants, weights)[0]
            first, last = name_variant(rng, variant, first, last)
            first = duplicate_first_name(gen, first, variant)
            if rng.random() < profile.last_name_typo:
                last = mistyped(rng, last)
            if happens(gen.fifth, profile.name_in_one_field):  # "SMITH, Linda", no last name
                first, last = f"{last.upper()}, {first}", ""
            if moved:
                home = (f"{rng.randrange(1, 999)} {rng.choice(STREETS)} St", *rng.choice(CITIES))
                landline = gen.phone() if rng.random() < 0.5 else None
            elif happens(gen.added, profile.address_retyped):
                home = retyped_address(gen.added, home)
            if happens(gen.added, profile.family_name_changed):
                last = gen.added.choice([n for n in LAST if n != last])
        card = None
        if p.card and rng.random() < 0.9 and (copy == 0 or rng.random() < profile.duplicate_card):
            card = gen.messy_card(p.card)
        birth = _birth_as_typed(gen, p, copy)
        phones = _crm_phones(gen, p, copy, landline)
        if copy == 1 and duplicate and happens(gen.seventh, profile.reenrolment):
            # A re-enrolment: a new card of its own, on a form that skipped the birth date.
            card, birth = f"LD{gen.seventh.randrange(10**7, 10**8)}", None
            emails = till_reenrolment_emails(gen, p, emails, card)
        if copy == 1 and duplicate:  # the eleventh round's: a year slipped, a new mobile
            birth = slipped_birth(gen, birth)
            phones = renewed_phones(gen, p, phones, birth)
        elder = p.elder_email if copy == 0 and p.email and emails else None
        if elder is not None and happens(gen.ninth, profile.elder_email_kept):
            emails = [elder, *emails[1:]]  # never replaced by hers
        line: dict[str, Any] = {
            "contact_id": contact_id,
            "first_name": first,
            "last_name": written_family_name(gen, p, last),
            "emails": emails,
            "phones": phones,
            "loyalty_id": card,
            "birth_date": birth,
            "address": {
                "line1": home[0],
                "city": home[1],
                "postal_code": home[2],
                "country": "US",
            },
            "preferred_language": rng.choice(["en", "en", "en", "es", "fr"]),
            "consents": {k: rng.random() < 0.7 for k in ("email", "sms", "push", "phone")},
            "updated_at": gen.when(),
        }
        w.write("crm", line, contact_id, p.id)
        if copy == 0 and p.email and happens(gen.fifth, profile.email_changed):
            _older_version(gen, w, p, line)
        elif copy == 0 and p.elder_email and line["emails"]:
            # Its first version carried an elder's e-mail (a parent's): hers replaced it.
            before = datetime.fromisoformat(line["updated_at"]) - timedelta(
                days=gen.seventh.randrange(30, 900)
            )
            older = {
                **line,
                "emails": [p.elder_email],
                "updated_at": before.isoformat().replace("+00:00", "Z"),
            }
            w.write("crm", older, contact_id, p.id)


def _older_version(gen: Generator, w: Writer, p: Person, line: dict[str, Any]) -> None:
    """The contact as it was before its e-mail changed, exported after the new version (a
    CRM that sends a history, a replayed export): an older ``updated_at``, the old address."""
    rng = gen.fifth
    local = f"{p.first.lower()}{rng.randrange(10, 100)}.{p.last.lower()}"
    p.old_email = f"{local}@{rng.choice(DOMAINS)}"
    before = datetime.fromisoformat(line["updated_at"]) - timedelta(days=rng.randrange(30, 900))
    older = {
        **line,
        "emails": [p.old_email, *line["emails"][1:]],
        "updated_at": before.isoformat().replace("+00:00", "Z"),
    }
    w.write("crm", older, line["contact_id"], p.id)


def _birth_as_typed(gen: Generator, p: Person, copy: int) -> str | None:
    """A duplicate's birth date as its form took it: left out, day and month swapped, or
    the date a form puts when it gets none (1900-01-01)."""
    if copy == 1 and happens(gen.fifth, gen.profile.birth_placeholder):
        return gen.fifth.choice(["1900-01-01", "1970-01-01"])
    if copy == 0 or not happens(gen.added, gen.profile.birth_retyped):
        return p.birth.isoformat()
    if p.birth.day <= 12 and p.birth.day != p.birth.month and gen.added.random() < 0.5:
        return p.birth.replace(month=p.birth.day, day=p.birth.month).isoformat()
    return None
