"""One person's CRM contacts that share a phone and little else: a re-enrolment at a till.

A customer who forgot she had an account is enrolled again: a new card, her e-mail left
out or a clerk's placeholder typed (``nothanks@yahoo.com``), the birth date skipped, the
phone and address given again. The two contacts share no e-mail and no card, only the
phone; a phone alone never merges (a household shares its landline), but a phone with the
same person's name, no birth date against it, at one postcode is one person entered
twice. What still says two people, each a rule (:class:`ReenrolmentRules`):

- another postcode on each (a relative's mobile on an elderly namesake's contact across
  town);
- each contact with values of its own (an e-mail, or at one address a phone: the
  ``near_duplicates.own_values``), as on a family e-mail: twins named a letter apart
  (``Anne``/``Ann``) share a birth date, an address and the landline; a father and son of
  one name share all but the birth date, often left out. A value the data shows to be no
  one's (a hub: the store's address a clerk typed for every customer who gave none) is not
  one's own; differing only by such values, the contacts need one postcode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from membergraph.identity.records import RecordData, RecordKey
    from membergraph.identity.rules import NearDuplicates, Signature

__all__ = ["RULE", "ReenrolmentRules", "phone_duplicates", "postcode_of"]

_NOT_IN_POSTCODE = re.compile(r"[^0-9a-z]")
RULE = "crm_phone_duplicate"


class ReenrolmentRules(BaseModel):
    """When two CRM contacts sharing a phone (not a hub), or a card and the e-mail its
    online orders give (:mod:`~membergraph.identity.reenrolments`), are one person entered
    twice.

    Their names are close and their birth dates do not disagree, as
    ``near_duplicates.same_person`` says, and nothing tells two people apart.

    Attributes:
        enabled: False: a shared phone never merges contacts whose signatures differ
            (a match suggestion, as before).
        card_orders: a card's online orders giving another contact's e-mail (the card
            holder's contact and that one: close names, births not disagreeing, no values
            of their own on each) are one person's. False: such orders join neither.
        card_orders_email_hers: with ``card_orders``, a holder with no e-mail of her own
            (none, a placeholder, a hub) holds the e-mail her card's orders give: with a
            birth date left out, it is no value of the other contact's own against her
            (Ethan O'Brien's card orders under ``ethanobrien75@``, on his other contact with
            no phone: one person). A holder with an address of her own may be lending the
            card. False: the e-mail counts as the other contact's own.
        login_emails: a contact whose logged-in sessions give another contact's e-mail
            (an ``identify`` event: the account's own address), or one that another
            contact's card gives for its online orders, is that contact's on the terms of
            ``card_orders`` (close names, births not disagreeing, no values of their own
            on each; her address is hers through her login as through her card). False:
            such sessions join neither.
        login_emails_undated_user: a login of a contact that gives no birth date joins a
            dated contact carrying its e-mail too. False (default): a father's undated
            contact logging in with his own address, which his dated namesake son's contact
            was given (a parent's e-mail on a young adult's contact), stays apart.
        other_postcodes_say_two: two postcodes, one on each contact, are two people.
        own_values_say_two: contacts that each have values of their own
            (``near_duplicates.own_values``) are two people (twins, a father and son of
            one name); differing only by values that are no one's (hubs), they are one
            person at one postcode.
        namesakes_need_own_values: two contacts of one name and no birth date to
            compare, on a shared phone or e-mail, are namesakes (a father and son) only
            when each has values of its own that are someone's: differing only by
            values that identify no one (the store's address a clerk typed on one, a
            placeholder), they are one person at one postcode, as contacts with close
            names are. False: any value on each says namesakes.
        own_phones_without_postcode: a contact that gave nothing but a name and phones
            (no postcode, no birth date, no e-mail but a placeholder or a hub) is compared
            by its phones as at one postcode: a phone of its own besides the shared one
            says another person (a namesake whose contact lists a relative's phone
            besides his own mobile). False: phones are compared at one postcode only.
        one_birthday_outweighs_postcodes: two postcodes do not say two people when both
            birth dates are given, the same day, under one first name
            (:meth:`~membergraph.identity.near_duplicates.NearDuplicates.born_one`): a move.
            A relative's phone on a namesake's contact across town has another birthday.
        own_emails_name_each: with a birth date left out, e-mails of their own on each (and
            on two contacts of one name, for ``namesakes_need_own_values``) say two people
            only when each contact's names her (:mod:`~membergraph.identity.naming_emails`):
            namesakes each give an address naming himself, a customer enrolled again a
            handle (``bluejay4233@``) as often, on the contact with no birth date (a dated
            one's handle beside an undated one naming himself: a father and son). Phones of
            their own at one home still say two. False: any e-mail of her own on each says
            two people.
        garbled_first_names_on_one_value: one family name and one birth date (given on
            both, the same day) under first names far apart, one no common first name
            typed past recognition (``near_duplicates.garbled_first_names``: ``Dbe``/
            ``Deborah``, ``Bne``/``Benjamin``), are one person on a shared phone or e-mail
            alone, not only on both; values of their own on each still say two. False: on
            both only.
        one_after_the_other: with a birth date left out, values of their own on each do
            not say two people when one contact fell silent before the other began
            (:mod:`~membergraph.identity.handovers`: its last write and its cards' last
            purchase before the other's first): her old contact, card and e-mail, then her
            new ones. Namesakes of one household keep both going; twins born one day are
            enrolled years apart as often; phones of their own on each still say two.
            False: values of their own say two whatever the dates.
        handover_on_a_phone: the handover read on a shared phone alone, not only where
            her new card's online orders give her old contact's e-mail. Off: each of four
            20,000-people sets nobody tuned for showed a household's two people of one name
            taking turns on a phone, the fourth after the guards the first three made
            (first names of their own, the least age, the old contact's card). True: on a
            shared phone too.
        handover_least_age: a contact seen before the other's holder was this old (by
            the birth date one of them gives) is no old contact of hers: a mother's, whose
            daughter of one name enrols on the household's landline years later.
        handover_old_card: the contact that fell silent holds a card: the account she
            forgot is a loyalty one. A contact without a card shows nothing of itself but
            its last write, while its holder may log in and order online on it for years (a
            son's web contact, beside his father's contact listing the son's mobile as a
            relative's). False: any contact may be the old one.
        placeholders_without_postcode: contacts differing only by values that identify no
            one (above) are one person when a postcode is left out on one (a till that took
            no address), as at one postcode; two postcodes still say two. False: they need
            one postcode.
        one_name_on_her_email: two contacts of one name written the same, a birth date
            left out, sharing an e-mail, are one person though each has a phone of its own
            (:mod:`~membergraph.identity.her_email`), unless it is a family's address, each
            logs in, or one is seen using an address neither holds. Off: a fresh
            20,000-people set (s281) showed a father and his son of one name, the son's
            contact given the father's address, that nothing else told apart. False: phones
            of their own say two (namesakes).
        one_name_handed_over: as ``one_name_on_her_email`` reads them, when one contact
            fell silent before the other began (``one_after_the_other``'s spans, with
            ``handover_least_age`` and ``handover_old_card``): she enrolled again and left
            her old card; a father and son of one name keep both going. False: phones of
            their own say two.
        close_names_handed_over: the same for close names whose first names are one
            given twice (a short form, a typing), when the contact that fell silent holds
            a card seen in use. False: names written the same or a typing slip only.
        handed_over_least_days: for both, the silent contact's last day (a write, its
            card's purchase) this many days or more before the other's first: s301 showed
            a father's card used three days before his son of one name enrolled on the
            father's address. 0: any day before.
        handed_over_to_the_undated: for both, also when the contact that began later
            gives no birth date and the silent one does. False (the default): our
            generator's namesake son (gen32) enrols undated on his father's address after
            the father's card fell silent, both alive, and nothing else in the lines tells
            him from her forgotten account: on its 5,000 people 8 of 10 CRM mixes, for 84
            of her contact pairs on s1-s9.
        a_name_typed_on_her_email: as ``one_name_on_her_email`` reads them, names
            close by the near-duplicate rule that differ in the first or the family name
            only (``Siobhan Smih``, ``Jenifer Young``), when neither contact has an e-mail
            of its own besides the shared one (a father's own beside his, given for a son:
            ``William Jonson`` and ``William Johnson``). False: names written the same only.
        quick_enrolment_on_a_phone: on a shared phone, each contact with a card, one giving
            a birth date and the other none, values of their own on each do not say two
            people when nothing says a namesake (her first name given again, no two middle
            initials, the undated contact first seen once the dated one's holder was
            ``handover_least_age``, no phone of the dated contact's own besides the shared
            ones) and something says a till (a name typed with a slip, no e-mail naming the
            undated contact, or its e-mail holding the dated one's birth year):
            :mod:`~membergraph.identity.quick_enrolments`. On the fresh 20,000-people
            set s361 it joined a mother and her daughter of one name on the landline
            (Emily Price, born 2008, and her mother's undated contact, typed ``Emmily``,
            first seen when Emily was 16): ``quick_enrolment_least_age`` keeps them apart;
            on since the thirty-second round (its fresh set s441: no two people joined).
            False: values of their own say two people.
        quick_enrolment_least_age: with ``quick_enrolment_on_a_phone``, the undated contact
            is first seen once the dated one's holder was this old (and
            ``handover_least_age``): a young contact's namesake on the household's landline
            is her parent as often as her own contact again (Danny, born 2008, and his
            father Daniel; Lucia, 2002, and her mother; Emily, 2008, and her mother).
        partial_names_on_a_phone: a contact giving a first name alone (its family name left
            empty: a till's quick enrolment, ``Sue``) on a shared phone joins the contacts on
            it whose first name it gives again (the same, a listed form more than a letter
            apart), with no birth date against, when those are one person and no values of
            their own on each say two (:mod:`~membergraph.identity.partial_names`; with a
            date left out, a phone of its own on each wherever they live). A family name
            alone is anyone's of the household. False: a first name alone joins on a shared
            e-mail or card only.
        call_accounts: a call from the phone on one contact whose agent typed another
            contact's account (its contact id, card or e-mail) joins the two contacts as
            if both carried the phone (:mod:`~membergraph.identity.call_accounts`), when
            the account's contact gives no phone of its own. False: the call joins only
            the account's member.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    card_orders: bool = True
    card_orders_email_hers: bool = True
    login_emails: bool = True
    login_emails_undated_user: bool = False
    other_postcodes_say_two: bool = True
    own_values_say_two: bool = True
    namesakes_need_own_values: bool = True
    own_phones_without_postcode: bool = True
    placeholders_without_postcode: bool = True
    one_birthday_outweighs_postcodes: bool = True
    own_emails_name_each: bool = True
    garbled_first_names_on_one_value: bool = True
    one_after_the_other: bool = True
    handover_on_a_phone: bool = False
    call_accounts: bool = True
    partial_names_on_a_phone: bool = True
    quick_enrolment_on_a_phone: bool = True
    quick_enrolment_least_age: int = Field(default=25, ge=0, le=120)
    handover_least_age: int = Field(default=16, ge=0, le=120)
    handover_old_card: bool = True
    one_name_on_her_email: bool = False
    one_name_handed_over: bool = True
    close_names_handed_over: bool = True
    handed_over_least_days: int = Field(default=14, ge=0, le=3650)
    handed_over_to_the_undated: bool = False
    a_name_typed_on_her_email: bool = True

    def same_person(
        self,
        near: NearDuplicates,
        a: tuple[Signature, str],
        b: tuple[Signature, str],
        own_values: Callable[[], str],
        names_one: Callable[[Signature, Signature], bool] | None = None,
    ) -> bool:
        """Whether two contacts sharing a phone, each ``(signature, postcode)``, are one
        person. ``own_values`` (asked only when it matters) says whether each has values of
        its own: ``"own"``, ``"placeholders"`` (only values the data shows to be no one's
        differ: a till's ``store53001@...`` typed on one), or ``""``. ``names_one``: whether
        names ``near.same_person`` calls apart are one person's all the same (a first name
        typed past recognition under one birthday)."""
        (sig_a, post_a), (sig_b, post_b) = a, b
        if not self.enabled:
            return False
        if not near.same_person(sig_a, sig_b) and not (names_one and names_one(sig_a, sig_b)):
            return False
        moved = self.one_birthday_outweighs_postcodes and _one_birthday(near, sig_a, sig_b)
        if self.other_postcodes_say_two and post_a and post_b and post_a != post_b and not moved:
            return False
        if not self.own_values_say_two:
            return True
        own = own_values()
        if own == "own":  # twins a letter apart (Anne/Ann), a father and son of one name
            return False
        # A placeholder on one and nothing else of its own: at one postcode, one person.
        return not own or self.placeholders_one_person(post_a, post_b)

    def placeholders_one_person(self, post_a: str, post_b: str) -> bool:
        """Whether two contacts differing only by values that identify no one are one
        person, by their postcodes: one, or with ``placeholders_without_postcode`` a
        postcode left out on one (two postcodes say two people)."""
        if post_a and post_b:
            return post_a == post_b
        return self.placeholders_without_postcode


def _one_birthday(near: NearDuplicates, a: Signature, b: Signature) -> bool:
    """Whether two contacts give one birth date, the same day, under one first name."""
    return near.birth_said(a[2], b[2]) == "agreed" and near.born_one(a, b)


def postcode_of(record: RecordData) -> str:
    """A contact's postcode as two forms are compared: letters and digits, lower case
    (``L0M 6C5`` is ``l0m6c5``); ``""`` when its address has none."""
    if not record.address:
        return ""
    return _NOT_IN_POSTCODE.sub("", record.address.rpartition("|")[2].casefold())


def phone_duplicates(
    rules: ReenrolmentRules,
    near: NearDuplicates,
    by_signature: Mapping[Signature, list[RecordKey]],
    records: Mapping[RecordKey, RecordData],
    own_values: Callable[[RecordData, RecordData], str],
    names_one: Callable[[Signature, Signature], bool] | None = None,
) -> Iterable[tuple[RecordKey, RecordKey]]:
    """The pairs of contacts on one phone (by signature, the first of each) that are one
    person by ``rules``; ``own_values`` says whether two contacts each have values of their
    own (:meth:`ReenrolmentRules.same_person`).

    The pairs are taken together: contacts the pairs would make one member, two of which
    have values of their own, are none of them joined (Jennifer Allen and her daughter
    Jennifer on the landline, the daughter entered twice: mother and daughter each pair
    with the daughter's first contact, and the mother and the daughter's second contact
    each have a mobile of their own)."""
    if not rules.enabled:
        return []
    firsts = sorted((refs[0], sig) for sig, refs in by_signature.items())
    posts = {ref: postcode_of(records[ref]) for ref, _ in firsts}
    pairs = [
        (a, b)
        for i, (a, sig_a) in enumerate(firsts)
        for b, sig_b in firsts[i + 1 :]
        if rules.same_person(
            near,
            (sig_a, posts[a]),
            (sig_b, posts[b]),
            lambda a=a, b=b: own_values(records[a], records[b]),  # type: ignore[misc]
            names_one,
        )
    ]
    if len(pairs) < 2:
        return pairs
    group: dict[RecordKey, set[RecordKey]] = {}
    for a, b in pairs:
        joined = group.get(a, {a}) | group.get(b, {b})
        for ref in joined:
            group[ref] = joined
    two = {
        ref
        for members in {frozenset(g) for g in group.values()}
        if len(members) > 2
        and any(
            own_values(records[x], records[y]) == "own" for x in members for y in members if x < y
        )
        for ref in members
    }
    return [(a, b) for a, b in pairs if a not in two]
