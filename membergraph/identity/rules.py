"""Match rules as data: written in TOML (or left to the built-in defaults), validated once
into a typed :class:`Rules` the engine applies.

Example file (every key optional)::

    hub_max_people = 8
    [limits]
    CRM_ID = 1
    LOYALTY_ID = 1
    [blocklist]
    emails = ["test@test.com"]
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from membergraph.identity.blocklist import Blocklist
from membergraph.identity.near_duplicates import NearDuplicates, Signature
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.suggestion_rules import SuggestionRules

__all__ = [
    "DEFAULT_RULES_FILE",
    "NearDuplicates",
    "Rules",
    "RulesError",
    "Signature",
    "load_rules",
]


class Rules(BaseModel):
    """The identity engine's configuration.

    Attributes:
        limits: at most this many distinct values of a kind per member. A link that would
            exceed a limit is not made and is recorded as a conflict.
        hub_max_people: a value carried by more distinct people (CRM people, loyalty cards,
            accounts) than this stops being a linking key.
        hub_max_records: a value on more records than this is a hub whatever they are.
        device_max_names: a web device whose records name more people's logins and
            e-mails than this is crowded (a mail privacy proxy opening every reader's mail):
            its events that name no one are no one's, and it confirms no e-mail
            (``identity/devices.py``).
        till_max_people: a value typed at tills (an e-mail asked at the checkout) for more
            distinct people than this is a hub: a store's own address, typed for everyone
            who gives none. A person's own e-mail is typed for one card, a family's for a few.
        card_max_emails: a loyalty card on whose purchases tills typed more different
            e-mails than this (placeholders left out) is scanned for many people: a
            cashier's own card or the store's house card, scanned for guests who forgot
            theirs, each giving an address for the e-receipt. It links nothing, and the
            purchases on it are nobody's (a person gives the till one or two addresses).
        till_busy_day: a purchase record (a card, an e-mail typed at the till) with more
            purchases than this on one day, on at least ``till_busy_days`` days, is a till's
            own value: a cashier's card scanned for every guest who has none, the store's
            address typed for them. It links no one and its purchases are nobody's (a heavy
            shopper buys a few times a day at most, and not week after week). Below
            ``purchase_days.DAY_IDS_KEPT``.
        till_busy_days: see ``till_busy_day``; 0 turns the rule off.
        card_email_days: an e-mail given with a card's purchases on at least this many
            distinct days is the card holder's, though it names none of her names and she
            has others on file (a second address she shops under): it links her card to
            the online orders under it. A clerk puts her card on a guest's order once or
            twice; the guest's e-mail is a stranger's
            (:func:`~membergraph.identity.card_emails.a_strangers_email`). At most
            ``records.EMAIL_DAYS_KEPT`` (the days a card keeps per e-mail); 0 turns it off.
        card_handle_email_days: the same for an address that names no one (no common
            first or family name in it: ``bluejay3322@``, a handle), from this many days: a
            guest's address on a clerk's card names the guest, and the clerk's card is put
            on it at a store's counter, giving the card no e-mail
            (``counter_orders_are_the_buyers``); a handle the card's web order gives, even
            once, is the holder's. 0 turns it off.
        card_web_email_days: the same for any address the card's web orders gave (an
            online order of ``web_store_ids``), from this many days (of any channel): a
            clerk's card meets a guest's address at a store's counter, which gives the card
            no e-mail (``counter_orders_are_the_buyers``), or at a till typing a guest's
            e-receipt address, which stays on ``card_email_days``; an address her card's
            web order gives, even once, is the holder's. At most
            ``records.EMAIL_DAYS_KEPT``; 0 turns it off.
        card_web_emails_of_others: an address a card's web orders gave that a CRM contact
            not holding the card carries, naming another person than each holder (a
            parent's own address on a student's web order), is read as one given at a
            till: the parent's card-less orders under it stay the parent's.
        card_emails_naming_others: an e-mail given with a card whose holders have none on
            file is a stranger's (a guest's on a clerk's card) when it names another person
            than each of them, read as a relative's address on a contact is
            (``michellejones@`` on Kim Williams's card); false: such a holder's card takes
            any address given with it.
        card_emails_hubs_not_hers: a holder whose only e-mails on file are no one's (hubs:
            the store's address a till typed when she gave none) has none of her own: an
            address given with her card that names her, or names no one (a handle), is hers;
            one that names someone else is a guest's. False: the store's address counts as
            hers, and every other address given with the card is a stranger's.
        trust: how much each capture channel is trusted when two pieces of evidence disagree.
        shared_devices_identify_no_one: a web visitor logged in as two members or more (a
            family computer) belongs to no one (unattributed, with why), rather than being
            a member of its own that mixes two people's browsing.
        calls_identify_no_one: a call giving no phone and no account (a withheld number,
            a phone that reads as none), or only placeholders and hubs (the hold line),
            belongs to no one (unattributed, with why), as a cash sale does, rather than
            being a member of its own counted in totals, segments and exports.
        devices_naming_others: a device's events naming no one, on a device whose logins
            and e-mails lead to one member but which also gives an e-mail leading to no
            member that names another person than that member's contacts (a spouse's
            signup on the family computer), are a shared device's: no one's.
        call_disagrees: the kinds of a call's values that, naming no one known while the
            member its other evidence names has others of that kind, say the call is someone
            else's: it then joins no one. An e-mail the caller gives is theirs; a phone that
            names no one is no such evidence (people call from work, a new phone, a
            relative's).
        call_value_slips: a call's value at most this many edits from one the member has
            is that one mistyped (``ethan_jones@gmial.com``), not another person's.
        typed_by_staff: the capture channels where staff type a value for whoever stands
            before them. A value that every record carrying it got only this way links
            none of them: a store's own address typed for every guest and once for a card
            holder is a clerk's word twice, not the customer's (a value the customer gave,
            in the CRM or an online order, still links every record it is on).
        others_email_events: web events whose ``email`` is someone else's (a friend
            referred, a gift's recipient), not the visitor's: it identifies no one there.
            Read with the built-in rules (a record is made from a line before any
            configured rules are at hand).
        web_store_ids: the store ids an online order placed on the web carries (or none).
            An online order under another store's id was taken at that store's counter,
            where a clerk may put his own card on a guest's order: with a card, its e-mail
            is not read as the card holder's (it links the card to no one). Read with the
            built-in rules, as ``others_email_events``.
        crm_id_formats: the forms the CRM gives its contact ids, ``(prefix, digits)``: the
            number zero-padded to ``digits`` (0: no leading zeros). A contact id typed by
            an agent or sent by a page (``c0012345``, ``C-0012345``, ``12345``) is matched
            in these forms (:func:`~membergraph.identity.normalize.crm_id_spellings`); digits
            that fit two forms name a contact only when one of them exists, or both are one
            member's. Read with the built-in rules, as ``others_email_events``.
        relatives_emails: an e-mail on a CRM contact that names another person of her
            family (her family name with another first name or initial, or another listed
            first name alone: ``benjaminjohnson@`` on David Johnson's contact; or common
            names not hers, ``near_duplicates.first_names`` and ``family_names``:
            ``priya401@``, ``nhernandez@``;
            :func:`~membergraph.identity.email_names.a_relatives_email`) is a relative's,
            given for her (a parent enrolling a student's card): it links her contact to
            nothing (the relative's online orders, opens and clicks stay the relative's).
        relatives_emails_not_slips: an address that is a listed first name alone, that first
            name being her family name with a slip (``william862@`` on Richard Williams's
            contact), names that first name, a relative's (``relatives_emails``), not her
            family name typed with a slip.
        relatives_emails_not_her_own: a relative's e-mail on a CRM contact
            (``relatives_emails``) is no value of her own: two contacts with close names,
            each with values of their own (twins on a family address), are not two people
            for her parent's address on one (the student enrolled twice, once with her
            parent's address and once with her own).
        relatives_emails_share_nothing: an e-mail on two CRM people's contacts is shared
            (a family's: it links no one); when every contact but one person's carries it
            as a relative's (``relatives_emails``: the parent's address on a student's
            contact), it is weighed again without them: the parent's own, which links his
            contact, orders, opens and clicks.
        devices_confirm_emails: an event of no one logged in naming an e-mail that leads
            to no member by itself (on two CRM people's contacts: a family's; or on no
            profile) joins the member the device's logins lead to, when that member carries
            the e-mail too (on a contact, or on a logged-in event): her e-mail opens on her
            own phone. A device logged in as two members confirms nothing.
        logins_claim_online_orders: an online customer (card-less orders under an e-mail)
            that no CRM contact's member holds joins the member whose logged-in events give
            that e-mail, when the logins giving it lead to one member (her guest checkouts
            under the address she logs in with). Only an ``identify`` gives a login's
            e-mail: a form's (a newsletter sign-up for a friend) is anyone's.
        devices_claim_online_orders: an online customer that no CRM contact's member
            holds joins the member whose devices give its e-mail in events of no one logged
            in (her opens and clicks), when those devices' logins lead to that one member
            and the address names her
            (:func:`~membergraph.identity.device_orders.online_orders_of_devices`).
        card_addresses_keep_dots: two addresses at one provider whose local parts differ
            only by dots, dashes or underscores (``james.johnson@`` and ``jamesjohnson@``
            at Yahoo) are two mailboxes, not one mistyped, where
            ``near_duplicates.member_cards_apart`` weighs two cards' addresses (Gmail's
            dots are one mailbox already: its addresses match as one).
        counter_orders_are_the_buyers: an online order under a store's id (none of
            ``web_store_ids``) with a card and a real address that is not the store's own (its
            number in the local part) is the address's online order, not the card's: a
            clerk's card on a guest's order (:mod:`~membergraph.identity.counter_orders`).
            Read with the built-in rules, as ``web_store_ids``.
        undated_duplicates_least_age: two contacts of close names on a shared e-mail, one
            with a birth date and one without, are no near duplicates when the undated one
            was first seen before the dated one's holder was this old (12; a father's contact
            and his namesake son's, :mod:`~membergraph.identity.seen_as_a_child`). 0: off.
        familys_address_undated_apart: two contacts of close names on a family's address
            (``thejohnsons12@``, :func:`~membergraph.identity.her_email.a_familys_address`),
            a birth date left out, first names not written alike and no phone shared, are
            no near duplicates: Chris Johnson (1945) and his son Christopher, undated.
        undated_using_another_apart: two contacts of close names on a shared e-mail, one
            dated and one not, sharing no phone, are no near duplicates when the undated one,
            written before the dated one, is seen using an address of its own and never the
            shared one (:func:`~membergraph.identity.her_email.undated_uses_another`): a
            young adult enrolled with a parent's address, his own in his logins and web
            orders.
        card_emails_name_slips: a word of a card holder's name is found in an e-mail given
            with her card with one slip (:mod:`~membergraph.identity.name_slips`), when
            reading whether the address is hers or a guest's.
        shared_emails_of_one_member: an e-mail on two CRM people's contacts (``shared``:
            by their names and birth dates two people) whose contacts all end in one member
            (her duplicates, merged on other evidence) is that member's: it links the
            records no contact's member holds (her card-less orders, her opens).
        shared_emails_of_users: an online customer that no CRM contact's member holds,
            under an e-mail on two CRM people's contacts (``shared``), joins the member
            whose contacts are seen using it (given with their cards' purchases as their
            own, or by their logged-in sessions), when only one member's are, the address
            is their only one and names them or no one: a parent's handle on a student's
            contact, given with the parent's card.
        shared_emails_given_for_others: the same for the contacts of one member when the
            shared e-mail's other contacts never order under it
            (``emails_she_never_orders_with``: seen using addresses of their own, never
            it), those being one member's, unless it holds a family name and names them
            not: a parent's handle given at a student's enrolment.
        emails_she_never_orders_with: an e-mail on a CRM contact that does not name her
            (a handle, another person's name) links her to no card-less online orders
            under it when the addresses she is seen using (given with her cards'
            purchases, by her logged-in sessions) hold another one and neither it nor one
            ``call_value_slips`` edits from it: a parent's address given at a student's
            enrolment, whose orders are the parent's.
        emails_another_uses: the same when she is seen using no address at all, but
            another person is seen using this one: it comes with the purchases of his
            card as his own address, or his logged-in sessions give it (other names, no
            phone of hers).
        emails_naming_another_user: the same for an e-mail naming her when it names
            that other person too, whatever else their names and phones say (``jamesj@``
            on Jessica James's contact, given by her father John's logged-in sessions):
            its card-less online orders join him.
        emails_naming_two_generations: an e-mail naming a contact whose family name carries
            a generational suffix (``Nguyen Jr.``, ``Sr.``, ``II``) names his namesake father or
            son as well (``nguyenj@`` on Johnny Nguyen Jr.'s contact, his father John's): for
            ``emails_she_never_orders_with`` it is one that does not name him, so seen using
            another address and never it, he is not the one ordering under it.
        blocklist: placeholders, which never link.
        near_duplicates: when two CRM contacts with different names are one person.
        reenrolments: when two CRM contacts sharing only a phone, or a card and the
            e-mail its online orders give, are one person entered twice.
        suggestions: how pairs the rules do not merge are scored for stewards.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: dict[IdentifierKind, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {
            IdentifierKind.CRM_ID: 1,
            IdentifierKind.LOYALTY_ID: 1,
            IdentifierKind.EMAIL: 5,
            IdentifierKind.PHONE: 5,
        }
    )
    hub_max_people: int = Field(default=6, ge=1)
    hub_max_records: int = Field(default=200, ge=2)
    device_max_names: int = Field(default=20, ge=1)
    till_max_people: int = Field(default=2, ge=1)
    card_max_emails: int = Field(default=2, ge=1)
    till_busy_day: int = Field(default=4, ge=1, lt=16)
    till_busy_days: int = Field(default=3, ge=0)
    card_email_days: int = Field(default=3, ge=0, le=8)
    card_handle_email_days: int = Field(default=1, ge=0, le=8)
    card_web_email_days: int = Field(default=1, ge=0, le=8)
    card_web_emails_of_others: bool = True
    card_emails_naming_others: bool = True
    card_emails_hubs_not_hers: bool = True
    card_emails_name_slips: bool = True
    trust: dict[str, int] = Field(
        default_factory=lambda: {
            "crm": 5,
            "login": 5,
            "online": 4,
            "switch": 3,
            "identify": 3,
            "till": 2,
            "agent": 1,
        }
    )
    shared_devices_identify_no_one: bool = True
    calls_identify_no_one: bool = True
    devices_naming_others: bool = True
    relatives_emails: bool = True
    relatives_emails_share_nothing: bool = True
    relatives_emails_not_her_own: bool = True
    relatives_emails_not_slips: bool = True
    devices_confirm_emails: bool = True
    logins_claim_online_orders: bool = True
    devices_claim_online_orders: bool = True
    card_addresses_keep_dots: bool = True
    counter_orders_are_the_buyers: bool = True
    undated_duplicates_least_age: int = Field(default=12, ge=0, le=120)
    familys_address_undated_apart: bool = True
    undated_using_another_apart: bool = True
    shared_emails_of_one_member: bool = True
    shared_emails_of_users: bool = True
    shared_emails_given_for_others: bool = True
    emails_she_never_orders_with: bool = True
    emails_another_uses: bool = True
    emails_naming_another_user: bool = True
    emails_naming_two_generations: bool = True
    call_disagrees: tuple[IdentifierKind, ...] = (IdentifierKind.EMAIL,)
    call_value_slips: int = Field(default=2, ge=0)
    typed_by_staff: tuple[str, ...] = ("till", "agent")
    web_store_ids: tuple[str, ...] = ("WEB", "ONLINE", "ECOM", "E-COMMERCE", "APP")
    others_email_events: tuple[str, ...] = (
        "Referral Sent",
        "Invite Sent",
        "Product Shared",
        "Cart Shared",
        "Gift Card Sent",
    )
    crm_id_formats: tuple[tuple[str, Annotated[int, Field(ge=0, le=32)]], ...] = (
        ("C", 7),
        ("BSM-", 0),
    )
    blocklist: Blocklist = Field(default_factory=Blocklist)
    near_duplicates: NearDuplicates = Field(default_factory=NearDuplicates)
    reenrolments: ReenrolmentRules = Field(default_factory=ReenrolmentRules)
    suggestions: SuggestionRules = Field(default_factory=SuggestionRules)

    @cached_property
    def _junk(self) -> dict[IdentifierKind, tuple[frozenset[str], list[re.Pattern[str]]]]:
        listed = self.blocklist
        # Parts matched whole become patterns over the address, searched like the rest.
        email = [
            *(re.compile(p) for p in listed.email_patterns),
            *(re.compile(f"^(?:{p})@") for p in listed.email_local_parts),
            *(re.compile(f"@(?:{p})$") for p in listed.email_domains),
        ]
        return {
            IdentifierKind.EMAIL: (frozenset(listed.emails), email),
            IdentifierKind.PHONE: (
                frozenset(listed.phones),
                [re.compile(p) for p in listed.phone_patterns],
            ),
            IdentifierKind.LOYALTY_ID: (
                frozenset(listed.cards),
                [re.compile(p) for p in listed.card_patterns],
            ),
            IdentifierKind.CRM_ID: (
                frozenset(listed.crm_ids),
                [re.compile(p) for p in listed.crm_id_patterns],
            ),
        }

    def is_junk(self, kind: IdentifierKind, key: str) -> bool:
        """Whether a value is a placeholder by the blocklist (exactly or by pattern)."""
        junk = self._junk.get(kind)
        if junk is None:
            return False  # only e-mails, phones, cards and contact ids have placeholders
        exact, patterns = junk
        if key in exact:
            return True
        # A loop, not any(): a first load asks this of every value once (0.3 s a batch).
        for pattern in patterns:  # noqa: SIM110
            if pattern.search(key):
                return True
        return False

    def junk_by(self, kind: IdentifierKind, key: str) -> str | None:
        """What makes a value a placeholder by the rules: ``"blocklist"`` (listed exactly),
        ``"pattern"`` (a listed pattern), or None (neither: :meth:`is_junk` is False)."""
        if not self.is_junk(kind, key):
            return None
        return "blocklist" if key in self._junk[kind][0] else "pattern"


class RulesError(ValueError):
    """A rules file that cannot be read; the message names the file and the key."""


DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.toml")


def load_rules(path: Path | None) -> Rules:
    """Read rules from a TOML file, or the defaults when ``path`` is None.

    Raises:
        RulesError: the file is missing, not TOML, or has a bad or unknown key.
    """
    if path is None:
        return Rules()
    try:
        with path.open("rb") as handle:
            return Rules.model_validate(tomllib.load(handle))
    except OSError as exc:
        raise RulesError(f"rules file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file {path}: not TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise RulesError(f"rules file {path}: {problems}") from None
