"""How often each kind of mess happens: one profile per imagined retailer.

``default`` is the demo's world. ``holdout`` is another retailer, with other rates, other
habits at the till and other ways of mistyping names: the identity engine is measured on it
and never tuned on it (``benchmarks/identity_quality.py --profile holdout``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["PROFILES", "Profile", "ProfileName"]


class ProfileName(StrEnum):
    """The generator's profiles."""

    DEFAULT = "default"
    HOLDOUT = "holdout"


@dataclass(frozen=True)
class Profile:
    """Rates of the phenomena the generator writes, each a probability."""

    name: str
    duplicate: float = 0.05  # a CRM person entered twice
    # How a duplicate's name differs from the first contact's, as weights.
    name_variants: dict[str, int] = field(
        default_factory=lambda: {
            "same": 40,
            "case": 12,
            "typo": 10,
            "dropped": 12,
            "short": 10,
            "accent": 6,
            "swapped": 10,
            "initial": 4,
        }
    )
    duplicate_card: float = 0.5  # the duplicate carries the card too (scanned at sign-up)
    mover: float = 0.03  # a duplicate made after a move: new address, new landline
    last_name_typo: float = 0.0  # a duplicate's last name mistyped as well
    guest_purchase: float = 0.25  # a shopper without a card buys in store
    guest_placeholder: float = 0.6  # ... and the till asks an e-mail: a placeholder is typed
    till_placeholder: float = 0.05  # a card purchase with a placeholder e-mail typed anyway
    store_email: float = 0.02  # the till types the store's own address for a card purchase
    crm_placeholder_email: float = 0.02  # a CRM contact's e-mail is a placeholder
    crm_placeholder_phone: float = 0.03  # a CRM contact's phone is a placeholder
    call_placeholder_phone: float = 0.02  # a caller's number shows as 0000000000
    hold_line: float = 0.05  # a transferred call shows the hold line
    twins: float = 0.03  # a household with twins: one birth date, one everything but names
    landline: float = 0.6
    family_email: float = 0.15
    shared_computer: float = 0.1
    agent_typo: float = 0.1  # of calls where the agent types a card
    agent_digit_slip: float = 0.05  # ... one digit typed wrong: a card nobody holds
    resent: float = 0.02  # a purchase line the till sends twice (a retry after a timeout)
    # Added in the fourth round (holdout has none: its data stays as it was). A duplicate's
    # address retyped: the house number left out, the postcode's digits slipped (one wrong,
    # or two swapped).
    address_retyped: float = 0.3
    family_name_changed: float = 0.15  # a duplicate under a new family name (a marriage)
    birth_retyped: float = 0.15  # a duplicate's birth date left out, or day and month swapped
    house_card: float = 0.1  # a guest's purchase scanned with the till's house card
    work_phone: float = 0.15  # a caller rings from a number nobody has on file (work)
    agent_email_slip: float = 0.2  # of calls where the agent types an e-mail: one slip in it
    # Added in the fifth round, in both profiles at rates of their own (drawn from their own
    # random stream). Twins named a letter apart (Anne/Ann), and, of those, twins who both
    # give the household's e-mail.
    twin_close_name: float = 0.5
    twin_family_email: float = 0.5
    # A contact whose e-mail changed, its older version (the old e-mail, some online orders
    # under it) exported after the new one.
    email_changed: float = 0.05
    # A card of the newer series (a 13-digit number), written with or without the brand
    # letters printed before it.
    long_card: float = 0.2
    # Of a guest's purchases where the till asks no e-mail, those on which the cashier
    # scans her own card (the guest's own e-mail typed for an e-receipt a third of the time).
    cashier_card: float = 0.5
    script_user_id: float = 0.02  # a login whose page script sends the user id 0
    birth_placeholder: float = 0.1  # a duplicate's birth date as 1900-01-01 or 1970-01-01
    name_in_one_field: float = 0.05  # a duplicate's name as "SMITH, Linda", no last name
    referral: float = 0.05  # a visitor sends a referral: the event carries a friend's e-mail
    # Added in the sixth round (each profile its own rate, drawn from a sixth stream). Of
    # the cashiers who scan their own card for guests, those who work shifts at a busy till
    # and ask no e-mail: their guests' sales fall on their few shift days, several a day.
    cashier_shifts: float = 0.5
    # A reader whose mail app opens e-mails through a privacy proxy (Apple Mail's): her
    # opens and clicks come under one of the proxy's few device ids, each with her login.
    mail_proxy: float = 0.15
    # Added in the seventh round (each profile its own rate, drawn from a seventh stream).
    # Of the duplicates, those made at a re-enrolment (a forgotten account): a new card of
    # their own, and the birth date left out on the new form.
    reenrolment: float = 0.5
    # Of the contact ids an agent types, those typed in another spelling: lower case, a
    # dash after the prefix, or the digits alone without their zeros (c0012345, C-0012345,
    # 12345).
    agent_id_spelling: float = 0.4
    # A young adult (25 or younger) whose contact's first version carried an older
    # household member's e-mail (a parent's), replaced by her own since.
    elder_email: float = 0.2
    # Also the seventh round's, on the web (drawn from a stream of their own, ``web7``). A
    # reader whose mail app opens e-mails through a privacy proxy that names
    # no login: each open carries only her e-mail, under one of the proxy's device ids that
    # every such reader shares.
    proxy_email_opens: float = 0.2
    # A browser whose anonymous id is renewed (iOS every few weeks, cookies cleared): her
    # e-mail opens and a few page views come under several visitors of hers.
    renewed_visitor: float = 0.15
    # Added in the eighth round (each profile its own rate, drawn from an eighth stream;
    # demo/slips.py). Of the re-enrolments, those at a till that took no e-mail (none, or
    # the store's own address): the duplicate shares only the phone and the address.
    till_reenrolment: float = 0.4
    reenrolled_card_used: float = 0.5  # of those, people who shop with the new card since
    email_tagged: float = 0.05  # an online order's e-mail with a +tag, on any domain
    email_invisible: float = 0.02  # an e-mail copied with a zero-width space along
    middle_initial: float = 0.05  # a duplicate's first name with a middle initial (Ken A.)
    slipped_short_name: float = 0.15  # of duplicates under a short form, typed with a slip
    # Added in the ninth round (drawn from a ninth stream). Of the young adults whose first
    # contact version carried an elder's e-mail, those whose contact carries it still: the
    # parent enrolled the card and the address was never changed.
    elder_email_kept: float = 0.5
    # Added in the tenth round (drawn from a tenth stream; demo/generations.py). Of the
    # households with a member 18 years or more younger than the eldest, those whose
    # youngest is named after the eldest (a son after his father), and of their contacts,
    # those whose form wrote the suffix (Jr., Sr.) after the family name.
    junior: float = 0.04
    generation_written: float = 0.7
    # Added in the eleventh round (drawn from an eleventh stream; demo/renewals.py). Of the
    # duplicates, those whose birth date's year was typed with one digit wrong, and those
    # made after a new mobile number (the form took the birth date).
    birth_year_slipped: float = 0.05
    new_mobile: float = 0.2
    # Added in the thirteenth round (drawn from a stream of its own). Of the elders whose
    # e-mail a young adult's contact carries, those whose address is their first name and
    # digits (priya401@), with no family name in it: it names the parent only by a first
    # name that is not the young adult's.
    elder_email_first_name: float = 0.3
    # Added in the thirtieth round (drawn from a stream of its own; demo/parents_address.py).
    # Of the young adults (25 or younger) with a card and an elder with an e-mail, those who
    # order online with their card under the elder's address (a parent's account).
    parents_address: float = 0.3
    # Added in the thirtieth round (drawn from a stream of its own; demo/call_center.py). Of
    # the people in a household of two or more, those for whom a relative calls: the agent
    # types her contact id or card, the switch shows the relative's own phone.
    relative_call: float = 0.1
    # Added in the thirty-second round, each drawn from a stream of its own. Of the fathers
    # (born 1976 or before, a card and an e-mail), those whose contact and card fall silent
    # and whose namesake son enrols later on the household's e-mail, undated, with a card
    # and a mobile of his own (demo/namesakes.py); of those, the son enrolling under two
    # weeks after his father's last line (the rest: months after).
    namesake_son: float = 0.03
    namesake_son_days: float = 0.5
    # Of the households with a parent and a student (25 or younger, with a card) and no
    # family address, those whose shared address is a handle naming none of them or only
    # the family, on both contacts, the student using her own address too; of those, the
    # card-less web orders under the handle being the parent's (the rest: the student's)
    # (demo/handles.py).
    shared_handle: float = 0.3
    handle_parents_orders: float = 0.5
    # Of the adults with an e-mail in the CRM, those with an older undated contact of their
    # own whose card they still use, ordering on the web under an address no contact holds
    # (demo/old_contacts.py).
    old_contact_in_use: float = 0.01
    # Of the households' first two adults, the couples whose one contact carries both first
    # names (``Mary & John``; demo/joint_contacts.py).
    joint_contact: float = 0.04
    # Which placeholders this retailer's staff type (a key of vocabulary.TILL_PLACEHOLDERS).
    placeholders: str = "common"


PROFILES: dict[str, Profile] = {
    ProfileName.DEFAULT: Profile("default"),
    ProfileName.HOLDOUT: Profile(
        "holdout",
        duplicate=0.08,
        name_variants={
            "same": 25,
            "case": 8,
            "typo": 18,
            "dropped": 14,
            "short": 14,
            "accent": 9,
            "swapped": 12,
            "initial": 7,
        },
        duplicate_card=0.7,
        mover=0.06,
        last_name_typo=0.05,
        guest_purchase=0.4,
        guest_placeholder=0.8,
        till_placeholder=0.08,
        store_email=0.04,
        crm_placeholder_email=0.04,
        crm_placeholder_phone=0.05,
        call_placeholder_phone=0.04,
        hold_line=0.08,
        twins=0.06,
        landline=0.7,
        family_email=0.25,
        shared_computer=0.2,
        agent_typo=0.15,
        agent_digit_slip=0.08,
        resent=0.05,
        # Added after holdout was set: none, so its data stays as it was.
        address_retyped=0.0,
        family_name_changed=0.0,
        birth_retyped=0.0,
        house_card=0.0,
        work_phone=0.0,
        agent_email_slip=0.0,
        placeholders="local",
        # The fifth round's, at other rates.
        twin_close_name=0.3,
        twin_family_email=0.7,
        email_changed=0.08,
        long_card=0.1,
        cashier_card=0.4,
        script_user_id=0.01,
        birth_placeholder=0.05,
        name_in_one_field=0.08,
        referral=0.03,
        # The sixth round's.
        cashier_shifts=0.35,
        mail_proxy=0.25,
        # The seventh round's.
        reenrolment=0.7,
        agent_id_spelling=0.6,
        elder_email=0.3,
        proxy_email_opens=0.3,
        renewed_visitor=0.25,
        # The eighth round's.
        till_reenrolment=0.6,
        reenrolled_card_used=0.7,
        email_tagged=0.08,
        email_invisible=0.03,
        middle_initial=0.08,
        slipped_short_name=0.25,
        # The ninth round's.
        elder_email_kept=0.4,
        # The tenth round's.
        junior=0.07,
        generation_written=0.5,
        # The eleventh round's.
        birth_year_slipped=0.08,
        new_mobile=0.3,
        # The thirteenth round's.
        elder_email_first_name=0.5,
        # The thirtieth round's.
        parents_address=0.2,
        relative_call=0.2,
        # The thirty-second round's.
        namesake_son=0.05,
        namesake_son_days=0.4,
        shared_handle=0.2,
        handle_parents_orders=0.6,
        old_contact_in_use=0.015,
        joint_contact=0.06,
    ),
}
