"""The web analytics' lines a person leaves: page views, logins and e-mail opens, on her
own visitors, a family's shared computer and a mail privacy proxy's devices."""

from __future__ import annotations

from typing import Any

from membergraph.demo.people import Generator, Person, Writer, happens
from membergraph.demo.vocabulary import PAGES

__all__ = ["opened_lines", "proxy_lines", "shared_computer_lines", "web_lines"]


def _logged_in_as(gen: Generator, contact: str) -> str:
    """The user id a login sends: the contact's, or what the page's script sends when a
    bug lost it (``0``)."""
    return "0" if happens(gen.fifth, gen.profile.script_user_id) else contact


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
        if gen.friends and happens(gen.fifth, gen.profile.referral):  # a friend's address
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
