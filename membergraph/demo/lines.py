"""One function per source: the lines a person leaves in it, messy as real exports."""

from __future__ import annotations

from typing import Any

from membergraph.demo.people import Generator, Person, Writer
from membergraph.demo.vocabulary import CATEGORIES, HOLD_LINE, JUNK_EMAILS, PAGES, REASONS


def crm_lines(
    gen: Generator,
    w: Writer,
    p: Person,
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
        line: dict[str, Any] = {
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


def transactions_lines(gen: Generator, w: Writer, p: Person, family: str | None) -> None:
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
                user_id=rng.choice(p.contacts),
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
    if len(logged) < 2 or gen.rng.random() > 0.1:
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


def calls_lines(
    gen: Generator, w: Writer, p: Person, landline: str | None, cards: list[str]
) -> None:
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
