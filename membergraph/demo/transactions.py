"""The transactions' lines a person leaves: purchases at a till or online, with the cards,
placeholder e-mails and resent lines real tills produce."""

from __future__ import annotations

from datetime import timedelta

from membergraph.demo.people import Generator, Person, Writer, happens
from membergraph.demo.slips import as_given
from membergraph.demo.vocabulary import CATEGORIES, NOW, STORE_EMAIL, TILL_PLACEHOLDERS

__all__ = ["shift_days", "transactions_lines"]


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
                if happens(gen.added, profile.house_card):  # the till scans its own card
                    planned.append((gen.when(), False, "LD" + str(store % 10) * 8, None, store))
                elif gen.cashiers and happens(gen.fifth, profile.cashier_card):
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
