"""One function per source: the lines a person leaves in it, messy as real exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from membergraph.demo.generations import written_family_name
from membergraph.demo.names import mistyped, name_variant, retyped_address
from membergraph.demo.people import Generator, Person, Writer
from membergraph.demo.renewals import renewed_phones, slipped_birth
from membergraph.demo.slips import as_given, duplicate_first_name, till_reenrolment_emails
from membergraph.demo.vocabulary import (
    CATEGORIES,
    CITIES,
    DOMAINS,
    HOLD_LINE,
    LAST,
    NOW,
    PAGES,
    PHONE_PLACEHOLDERS,
    REASONS,
    STORE_EMAIL,
    STREETS,
    TILL_PLACEHOLDERS,
)


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
        first, last = p.first, p.last
        home = address
        if copy == 1:
            variant = rng.choices(variants, weights)[0]
            first, last = name_variant(rng, variant, first, last)
            first = duplicate_first_name(gen, first, variant)
            if rng.random() < profile.last_name_typo:
                last = mistyped(rng, last)
            if _fifth(gen, profile.name_in_one_field):  # "SMITH, Linda", no last name
                first, last = f"{last.upper()}, {first}", ""
            if moved:
                home = (f"{rng.randrange(1, 999)} {rng.choice(STREETS)} St", *rng.choice(CITIES))
                landline = gen.phone() if rng.random() < 0.5 else None
            elif _happens(gen, profile.address_retyped):
                home = retyped_address(gen.added, home)
            if _happens(gen, profile.family_name_changed):
                last = gen.added.choice([n for n in LAST if n != last])
        card = None
        if p.card and rng.random() < 0.9 and (copy == 0 or rng.random() < profile.duplicate_card):
            card = gen.messy_card(p.card)
        birth = _birth_as_typed(gen, p, copy)
        phones = _crm_phones(gen, p, copy, landline)
        if copy == 1 and duplicate and _seventh(gen, profile.reenrolment):
            # A re-enrolment: a new card of its own, on a form that skipped the birth date.
            card, birth = f"LD{gen.seventh.randrange(10**7, 10**8)}", None
            emails = till_reenrolment_emails(gen, p, emails, card)
        if copy == 1 and duplicate:  # the eleventh round's: a year slipped, a new mobile
            birth = slipped_birth(gen, birth)
            phones = renewed_phones(gen, p, phones, birth)
        elder = p.elder_email if copy == 0 and p.email and emails else None
        if elder is not None and _ninth(gen, profile.elder_email_kept):
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
        if copy == 0 and p.email and _fifth(gen, profile.email_changed):
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


def _ninth(gen: Generator, rate: float) -> bool:
    """A ninth-round phenomenon, drawn from its own stream where it has a rate."""
    return rate > 0 and gen.ninth.random() < rate


def _seventh(gen: Generator, rate: float) -> bool:
    """A seventh-round phenomenon, drawn from its own stream where it has a rate."""
    return rate > 0 and gen.seventh.random() < rate


def _as_agents_type(gen: Generator, contact_id: str) -> str:
    """A contact id as an agent types it: as the CRM writes it, or lower case, with a dash
    after the prefix, or the digits alone without their zeros (seventh round)."""
    if not _seventh(gen, gen.profile.agent_id_spelling):
        return contact_id
    prefix, digits = contact_id[:1], contact_id[1:]
    return gen.seventh.choice(
        [contact_id.lower(), f"{prefix}-{digits}", digits.lstrip("0") or digits]
    )


def _fifth(gen: Generator, rate: float) -> bool:
    """A fifth-round phenomenon, drawn from its own stream where it has a rate."""
    return rate > 0 and gen.fifth.random() < rate


def _logged_in_as(gen: Generator, contact: str) -> str:
    """The user id a login sends: the contact's, or what the page's script sends when a
    bug lost it (``0``)."""
    return "0" if _fifth(gen, gen.profile.script_user_id) else contact


def shift_days(gen: Generator) -> list[str]:
    """The days a cashier works a busy till (sixth round): about one day in a hundred over
    the two years the data covers, so her guests' sales come several a day."""
    days = sorted(gen.sixth.sample(range(730), 8))
    return [(NOW - timedelta(days=d)).date().isoformat() for d in days]


def _on_shift(gen: Generator, days: list[str]) -> str:
    """A moment of one of a cashier's shift days (sixth round)."""
    rng = gen.sixth
    return f"{rng.choice(days)}T{rng.randrange(9, 20):02d}:{rng.randrange(60):02d}:00Z"


def _fifth_when(gen: Generator) -> str:
    moment = NOW - timedelta(seconds=gen.fifth.randrange(730 * 86400))
    return moment.isoformat().replace("+00:00", "Z")


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


def _happens(gen: Generator, rate: float) -> bool:
    """A fourth-round phenomenon, drawn from its own stream and only where it has a rate:
    a profile without it (holdout) draws nothing, and its data stays as it was."""
    return rate > 0 and gen.added.random() < rate


def _birth_as_typed(gen: Generator, p: Person, copy: int) -> str | None:
    """A duplicate's birth date as its form took it: left out, day and month swapped, or
    the date a form puts when it gets none (1900-01-01)."""
    if copy == 1 and _fifth(gen, gen.profile.birth_placeholder):
        return gen.fifth.choice(["1900-01-01", "1970-01-01"])
    if copy == 0 or not _happens(gen, gen.profile.birth_retyped):
        return p.birth.isoformat()
    if p.birth.day <= 12 and p.birth.day != p.birth.month and gen.added.random() < 0.5:
        return p.birth.replace(month=p.birth.day, day=p.birth.month).isoformat()
    return None


def _till_email(gen: Generator, store: int) -> str:
    """What a till's e-mail field gets from a customer who gives none."""
    rng = gen.rng
    if rng.random() < gen.profile.store_email / (gen.profile.store_email + 0.05):
        return STORE_EMAIL.format(store=store)  # only the data shows this one
    return rng.choice(TILL_PLACEHOLDERS[gen.profile.placeholders])


def transactions_lines(gen: Generator, w: Writer, p: Person, family: str | None) -> None:
    rng, profile = gen.rng, gen.profile
    planned: list[tuple[str, bool, str | None, str | None, int]] = []
    for _ in range(int(rng.expovariate(1 / 6))):
        store = rng.randrange(1, 40)
        guest = not p.card and rng.random() < profile.guest_purchase
        online = not guest and rng.random() < (0.3 if p.card else 1.0)
        email = None
        card = p.card if (not online or rng.random() < 0.5) else None
        if guest:
            if rng.random() >= profile.guest_placeholder:
                if _happens(gen, profile.house_card):  # the till scans its own card
                    planned.append((gen.when(), False, "LD" + str(store % 10) * 8, None, store))
                elif gen.cashiers and _fifth(gen, profile.cashier_card):
                    # The cashier scans her own card, and types the guest's own address
                    # when the guest asks for an e-receipt.
                    receipt = p.email if gen.fifth.random() < 0.35 else None
                    cashier = gen.cashiers[store % len(gen.cashiers)]
                    when = _fifth_when(gen)
                    if cashier in gen.shifts:  # on one of her shifts, and no e-receipt asked
                        when, receipt = _on_shift(gen, gen.shifts[cashier]), None
                    planned.append((when, False, cashier, receipt, store))
                continue  # else no e-mail asked: a sale nobody can be told of, not written
            email = gen.messy_email(_till_email(gen, store))
        elif online:
            chosen = p.family if p.family and (not p.email or rng.random() < 0.3) else p.email
            if chosen is None:
                continue
            if chosen == p.email and p.old_email and gen.fifth.random() < 0.5:
                chosen = p.old_email  # ordered before the e-mail changed
            email = as_given(gen, gen.messy_email(gen.gmail_variant(chosen)), tagged=True)
        elif rng.random() < profile.till_placeholder + profile.store_email:
            email = _till_email(gen, store)  # typed at the till to get past the form
        if card is None and email is None:
            continue
        planned.append((gen.when(), online, card, email, store))
    balance = 0
    for occurred_at, online, card, email, store in sorted(planned):
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
            "store_id": None if online else f"S{store:03d}",
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
        if gen.later.random() < profile.resent:
            w.write("transactions", line, tid, p.id)  # the till's retry: the same line again


def web_event(gen: Generator, w: Writer, person: str, anonymous_id: str, **fields: Any) -> None:
    eid = gen.uid("E", 10)
    line: dict[str, Any] = {
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


def web_lines(gen: Generator, w: Writer, p: Person, family: str | None) -> None:
    rng = gen.rng
    for _ in range(rng.choices([0, 1, 2, 3], weights=[25, 45, 20, 10])[0]):
        anonymous_id = gen.uid("a-", 12)
        p.visitors.append(anonymous_id)
        for _ in range(rng.randrange(1, 8)):
            web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                name="Page Viewed",
                properties={"path": rng.choice(PAGES)},
            )
        if p.contacts and rng.random() < 0.5:
            web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                type="identify",
                name="Logged In",
                user_id=_logged_in_as(gen, rng.choice(p.contacts)),
            )
        elif (p.email or p.family) and rng.random() < 0.3:
            web_event(
                gen,
                w,
                p.id,
                anonymous_id,
                type="identify",
                name="Signed Up",
                email=gen.messy_email(p.email or p.family or ""),
            )
        if gen.friends and _fifth(gen, gen.profile.referral):  # a friend's address
            friend = gen.fifth.choice(gen.friends)
            web_event(gen, w, p.id, anonymous_id, type="track", name="Referral Sent", email=friend)
        for name in ("Email Opened", "Email Clicked", "Offer Redeemed"):
            if rng.random() < 0.3:
                web_event(
                    gen,
                    w,
                    p.id,
                    anonymous_id,
                    type="track",
                    name=name,
                    properties={"campaign": f"cmp-{rng.randrange(20)}"},
                )


def shared_computer_lines(gen: Generator, w: Writer, household: list[Person]) -> None:
    logged = [p for p in household if p.contacts]
    if len(logged) < 2 or gen.rng.random() > gen.profile.shared_computer:
        return
    anonymous_id = gen.uid("a-", 12)
    for person in logged[:2]:
        web_event(
            gen,
            w,
            person.id,
            anonymous_id,
            type="identify",
            name="Logged In",
            user_id=person.contacts[0],
        )


def proxy_lines(gen: Generator, w: Writer, people: list[Person]) -> None:
    """E-mails opened through a mail privacy proxy (sixth round): the proxy fetches the open
    pixel for every reader it serves, under a few device ids of its own; the tracking link
    names the reader's contact, so each open carries her login. Opens of readers the link
    does not name (forwarded e-mails) come through too, anonymous."""
    rate = gen.profile.mail_proxy
    if rate <= 0:
        return
    rng = gen.sixth
    proxies = [f"a-mpp-{n:04d}" for n in range(4)]
    for p in people:
        if not p.contacts or rng.random() >= rate:
            continue
        for _ in range(rng.randrange(1, 4)):
            name = rng.choice(("Email Opened", "Email Clicked"))
            web_event(
                gen,
                w,
                p.id,
                rng.choice(proxies),
                type="track",
                name=name,
                user_id=p.contacts[0],
                properties={"campaign": f"cmp-{rng.randrange(20)}"},
            )
        if rng.random() < 0.2:  # a forwarded copy opened by someone the link does not name
            web_event(gen, w, p.id, rng.choice(proxies), type="track", name="Email Opened")


def opened_lines(gen: Generator, w: Writer, people: list[Person]) -> None:
    """E-mail opens that name their reader by her e-mail alone (seventh round): opens
    fetched by a mail privacy proxy under one of its twelve device ids, shared by every
    reader it serves; and a reader's own visitors, renewed every few weeks (iOS, cleared
    cookies), each with an open and a few page views. Her e-mail sits on many visitors:
    only hers."""
    rates, rng = gen.profile, gen.web7
    if rates.proxy_email_opens <= 0 and rates.renewed_visitor <= 0:
        return
    proxies = [f"a-mpp7-{n:04d}" for n in range(12)]
    for p in people:
        if not p.email:
            continue
        if rng.random() < rates.proxy_email_opens:
            for _ in range(rng.randrange(1, 6)):
                campaign = {"campaign": f"cmp-{rng.randrange(20)}"}
                web_event(
                    gen,
                    w,
                    p.id,
                    rng.choice(proxies),
                    type="track",
                    name="Email Opened",
                    email=p.email,
                    properties=campaign,
                )
        if rng.random() < rates.renewed_visitor:
            for _ in range(rng.randrange(2, 9)):
                anonymous_id = gen.uid("a-", 12)
                p.visitors.append(anonymous_id)
                web_event(
                    gen, w, p.id, anonymous_id, type="track", name="Email Opened", email=p.email
                )
                for _ in range(rng.randrange(0, 3)):
                    page = {"path": rng.choice(PAGES)}
                    web_event(gen, w, p.id, anonymous_id, name="Page Viewed", properties=page)


def _caller(gen: Generator, phone: str | None) -> str | None:
    if phone is None or phone in PHONE_PLACEHOLDERS:
        return phone
    return gen.messy_phone(
        phone.replace(" ", "").replace("(", "").replace(")", "").replace("-", "")
    )


def _digit_slip(gen: Generator, card: str) -> str:
    at = gen.later.randrange(2, len(card))
    wrong = str((int(card[at]) + gen.later.randrange(1, 10)) % 10)
    return card[:at] + wrong + card[at + 1 :]


def calls_lines(
    gen: Generator, w: Writer, p: Person, landline: str | None, cards: list[str]
) -> None:
    rng, profile = gen.rng, gen.profile
    for _ in range(rng.choices([0, 1, 2], weights=[60, 30, 10])[0]):
        roll = rng.random()
        if roll < profile.hold_line:
            phone: str | None = HOLD_LINE  # transferred calls show the hold line
        elif roll < profile.hold_line + profile.call_placeholder_phone:
            phone = rng.choice(PHONE_PLACEHOLDERS)  # a withheld number, as the switch shows it
        elif roll < 0.3 and landline:
            phone = landline
        else:
            phone = p.mobile or landline
        if phone not in (HOLD_LINE, None) and _happens(gen, profile.work_phone):
            phone = gen.phone(gen.added)  # from work: a number nobody has on file
        ref: dict[str, str] | None = None
        kind = rng.choices(["crm_id", "loyalty_id", "email", None], weights=[40, 30, 10, 20])[0]
        if kind == "crm_id" and p.contacts:
            ref = {"kind": "crm_id", "value": _as_agents_type(gen, rng.choice(p.contacts))}
        elif kind == "loyalty_id" and p.card:
            card = p.card
            if rng.random() < profile.agent_typo:
                card = rng.choice(cards)  # the agent typed another member's card
            elif gen.later.random() < profile.agent_digit_slip:
                card = _digit_slip(gen, card)  # one digit wrong: a card nobody holds
            ref = {"kind": "loyalty_id", "value": gen.messy_card(card)}
        elif kind == "email" and p.email:
            typed = p.email
            if typed.index("@") > 3 and _happens(gen, profile.agent_email_slip):
                at = gen.added.randrange(1, typed.index("@") - 1)  # two letters swapped
                typed = typed[:at] + typed[at + 1] + typed[at] + typed[at + 2 :]
            ref = {"kind": "email", "value": typed}
        iid = gen.uid("I", 9)
        line = {
            "interaction_id": iid,
            "caller_phone": _caller(gen, phone),
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
