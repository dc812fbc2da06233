"""The call center's lines a person leaves: her calls, with the caller numbers a switch
shows and the account references agents type, slips included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from random import Random

from membergraph.demo.people import Generator, Person, Writer, happens
from membergraph.demo.vocabulary import HOLD_LINE, NOW, PHONE_PLACEHOLDERS, REASONS

__all__ = ["calls_lines", "relatives_calls"]


def _as_agents_type(gen: Generator, contact_id: str) -> str:
    """A contact id as an agent types it: as the CRM writes it, or lower case, with a dash
    after the prefix, or the digits alone without their zeros (seventh round)."""
    if not happens(gen.seventh, gen.profile.agent_id_spelling):
        return contact_id
    prefix, digits = contact_id[:1], contact_id[1:]
    return gen.seventh.choice(
        [contact_id.lower(), f"{prefix}-{digits}", digits.lstrip("0") or digits]
    )


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
        if phone not in (HOLD_LINE, None) and happens(gen.added, profile.work_phone):
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
            if typed.index("@") > 3 and happens(gen.added, profile.agent_email_slip):
                at = gen.added.randrange(1, typed.index("@") - 1)  # two letters swapped
                typed = typed[:at] + typed[at + 1] + typed[at] + typed[at + 2 :]
            ref = {"kind": "email", "value": typed}
        iid = gen.uid("I", 9)
        line = _call_line(rng, iid, _caller(gen, phone), ref, gen.when)
        w.write("call_center", line, iid, p.id)


def _call_line(
    rng: Random,
    iid: str,
    phone: str | None,
    ref: dict[str, str] | None,
    when: Callable[[], str] | str,
) -> dict[str, object]:
    """One call's line; the agent is drawn before the moment, as every stream always drew
    them (``when`` may draw from the same stream: the demo's data stays byte for byte)."""
    agent = f"agent-{rng.randrange(1, 30)}"
    started_at = when if isinstance(when, str) else when()
    return {
        "interaction_id": iid,
        "caller_phone": phone,
        "account_ref": ref,
        "agent_id": agent,
        "started_at": started_at,
        "duration_s": rng.randrange(30, 1800),
        "reason": rng.choice(REASONS),
        "sentiment": round(rng.uniform(-1, 1), 2),
        "resolved": rng.random() < 0.8,
        "notes": None,
    }


def relatives_calls(
    gen: Generator, w: Writer, households: list[list[Person]], landline: dict[int, str]
) -> None:
    """Calls a household member makes for another (thirtieth round, a stream of its own): at
    the profile's ``relative_call`` rate, a person's account (her contact id or card) is
    typed by an agent while the switch shows a relative's own phone (his mobile, else the
    household's landline): a son calling for his father of one name, a daughter for her
    mother. The call is the account holder's matter: her line."""
    rate, stream = gen.profile.relative_call, gen.calls30
    if rate <= 0:
        return
    for members in households:
        for p in members:
            others = [q for q in members if q is not p and (q.mobile or q.household in landline)]
            if not p.contacts or not others or not happens(stream, rate):
                continue
            caller = stream.choice(others)
            phone = caller.mobile or landline[caller.household]
            if p.card and stream.random() < 0.4:
                ref = {"kind": "loyalty_id", "value": p.card}
            else:
                ref = {"kind": "crm_id", "value": stream.choice(p.contacts)}
            iid = f"I{stream.randrange(10**8, 10**9)}r{stream.randrange(16**6):06x}"
            moment = NOW - timedelta(seconds=stream.randrange(730 * 86400))
            stamp = moment.isoformat().replace("+00:00", "Z")
            line = _call_line(stream, iid, phone, ref, stamp)
            w.write("call_center", line, iid, p.id)
