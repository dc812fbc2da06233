"""When two CRM contacts whose names differ are one person entered twice: the rules of
:class:`NearDuplicates` (a part of :class:`~membergraph.identity.rules.Rules`) and the name
comparisons they make."""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz.distance import OSA, JaroWinkler

from membergraph.identity.common_names import FAMILY_NAMES, FIRST_NAMES
from membergraph.identity.name_forms import first_name_core, names_swapped, slipped_short_form
from membergraph.identity.nicknames import NICKNAMES, OTHER_NAMES
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.surname_forms import generation, surname_kept
from membergraph.identity.typing_slips import finger_slip, keyboard_slip, year_slip
from membergraph.identity.value_cache import value_cache

__all__ = ["NearDuplicates", "Signature"]

Signature = tuple[str, str, str]
"""Who a CRM contact says it is: first name, last name, birth date (ISO, or ``""``)."""


class NearDuplicates(BaseModel):
    """When two CRM contacts whose names differ are one person entered twice.

    They must have the same birth date, share a strong identifier (``kinds``), and have close
    names: first and last name each close, or each close to the other's swapped. Two names are
    close when they fold to the same letters (case, accents), one is a short form of the other
    (a listed nickname, or a prefix of at least ``prefix_min`` letters), their Jaro-Winkler
    similarity is at least ``first_name_min`` (first names) or ``last_name_min`` (last names): a
    typo, a dropped or doubled letter; or, with ``keyboard_slips``, they differ in one letter
    only, typed with a key next to the right one on a QWERTY keyboard (``Gary``/``Gqry``, which
    Jaro-Winkler finds far apart in so short a name; ``Mary``/``Mark`` differ by keys far apart,
    and stay two people); or, with ``typed_short_forms``, one is no common first name, a listed
    short form of the other typed with a slip (``Suue``/``Susan``, ``Rbo``/``Robert``); or,
    with ``initials``, one first name is an initial the other starts with (``J.``/``John``).
    With ``family_name_changes``, close first names alone will do, whatever the family names
    (``Jennifer Hill``/``Jennifer Jiménez`` after a marriage, ``Dubois``/ ``Dubois-Harris``):
    the birth date and a strong identifier already say one person, and twins, who share both,
    have other first names; with
    ``family_name_changes_on_email_and_phone``, with no birth date to compare too, when the two
    share a phone besides the e-mail (a marriage: her address and her number; the e-mail alone
    is a family's). With ``garbled_first_names``, first names far apart will do when one is no
    common first name (``Tmi``/``Timothy``), the family names are close, both birth dates are
    given and one, and the two share a phone besides the e-mail
    (:func:`~membergraph.identity.near_edges.one_if_email_and_phone`). With
    ``birth_date_left_out_agrees``, a contact without a birth date agrees with any (the form
    made it optional: nobody else's; so is one of ``birth_date_placeholders``, what a form puts
    when it gets none); with ``day_month_swaps``, ``1970-01-02`` agrees with ``1970-02-01`` (a
    date written day first on one form, month first on the other); with ``birth_year_slips``,
    ``1983-03-28`` agrees with ``1982-03-28`` or ``1993-03-28`` (one digit of the year mistyped:
    the day and month, which relatives seldom share, still agree). On a shared e-mail (not a
    card: a card is one account, and people change e-mail and phone), each contact having a
    value of an ``own_values`` kind the other lacks says two people: twins on a family address
    (``Anne``/``Ann``), each with her own e-mail, her own card or, at one address, her own phone
    (a duplicate entered after a move has a new landline at the new address; a replaced card is
    listed with the new one); with ``births_outweigh_own_values``, not when both birth dates are
    given and agree and the first names are one (the same letters): no two relatives are born on
    one day under one first name (twins have two, if only a letter or a short form apart), so
    her values of her own are her old and new ones; with ``short_forms_born_one``, a name and
    its listed short form more than a letter apart are one first name (``Jennifer``/``Jen``;
    not ``Ann``/``Anne``, nor ``Chris``, a short form of two names); with ``typos_born_one``,
    so are two close first names one of which is no common first name (``Patruck``/
    ``Patrick``: a typing) when the birth dates are the same day (not swapped, not slipped;
    ``dropped_letters_born_one``: :mod:`~membergraph.identity.dropped_letters`). With
    ``partial_names``, a contact that left its first or family name empty joins the one
    person's contacts on a shared ``kinds`` value whose same name field is close and whose
    birth date (given on both) agrees (:mod:`~membergraph.identity.partial_names`); with
    ``partial_names_by_email``, with no birth date to compare, on an e-mail that names that
    person (``barbara.harris@``: her own address, not a family's). A contact whose first name,
    or first and family names read together, is one of ``placeholder_first_names`` (regular
    expressions matched whole, any case: ``Walk-In Customer``, ``Walk`` / ``In``, ``Guest``,
    ``Valued Customer``, typed at a till for whoever
    stands there) names no one: it is nobody's duplicate, and two of them are two people; with
    ``placeholder_names_by_birth``, one that gives a birth date joins the one person's contacts
    on a shared ``kinds`` value or phone that give the same date, as a contact with a name left
    empty does (the clerk typed a word for the name, not for the e-mail and the birth date), and
    with ``partial_names_by_email`` one with no date to compare joins them on an e-mail that
    names them, sharing her phone too unless ``placeholder_names_by_email`` (the address she
    gave the clerk names her). ``first_names`` and ``family_names`` are common names (any case,
    accents), with the nicknames' first names: an e-mail on a contact naming another with
    them is a relative's (:func:`~membergraph.identity.email_names.a_relatives_email`); empty
    lists read addresses by the contact's own names and the nicknames only. With
    ``own_values_identify_someone``, a value the data shows to be no one's (a store's e-mail or
    phone a till typed for every guest: a hub) is no value of her own. With
    ``undated_own_phones``, two contacts on a shared e-mail with no birth date to compare are
    two people when each has a phone of its own and they share none, at one home however written
    or with an address left out: a parent and a child of one name on the parent's address, each
    with a mobile (a household's line, on two people's contacts, is no one's own; at two homes,
    a new phone is what a move brings). With ``member_births_agree``, a duplicate link never
    makes a member holding two contacts whose birth dates disagree (:meth:`same_birth`), joined
    through a third that gave none: two namesakes born years apart are two people, whoever left
    the date out (:meth:`~membergraph.identity.partition.Partition.births_apart`). With
    ``member_cards_apart``, nor one holding two cards that each give, with online orders over
    the same months, an address of its own the other never gives: a son ordering under his
    address with his card while his father orders under the father's with his, on contacts
    sharing the father's e-mail (:mod:`~membergraph.identity.card_addresses`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[IdentifierKind, ...] = (IdentifierKind.EMAIL, IdentifierKind.LOYALTY_ID)
    first_name_min: float = Field(default=0.9, ge=0, le=1)
    last_name_min: float = Field(default=0.9, ge=0, le=1)
    prefix_min: int = Field(default=3, ge=1)
    keyboard_slips: bool = True
    typed_short_forms: bool = True
    initials: bool = True
    family_name_changes: bool = True
    family_name_changes_on_email_and_phone: bool = True
    garbled_first_names: bool = True
    birth_date_left_out_agrees: bool = True
    day_month_swaps: bool = True
    birth_year_slips: bool = True
    births_outweigh_own_values: bool = True
    short_forms_born_one: bool = True
    typos_born_one: bool = True
    dropped_letters_born_one: bool = True
    swapped_names_born_one: bool = True
    partial_names: bool = True
    partial_names_by_email: bool = True
    placeholder_names_by_birth: bool = True
    placeholder_names_by_email: bool = True
    own_values_identify_someone: bool = True
    undated_own_phones: bool = True
    member_births_agree: bool = True
    member_cards_apart: bool = True
    # What forms put when they want a birth date and get none: the date is left out.
    birth_date_placeholders: tuple[str, ...] = (
        "1900-01-01", "1970-01-01", "1111-11-11", "0001-01-01", "1901-01-01", "1911-11-11"
    )  # fmt: skip
    # On a shared e-mail, contacts each with a value of one of these kinds the other lacks
    # are two people (twins on a family address); phones count at one address only.
    # Not cards: a re-enrolment (a forgotten account) always makes a new card.
    own_values: tuple[IdentifierKind, ...] = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
    placeholder_first_names: tuple[str, ...] = (
        r"walk[- ]?in|guest|customer|cash|client|shopper|unknown|anonymous|n/?a|none|no ?name",
        r"test|store|till|pos|counter|x+|-+|\.+|\?+|valued",
    )
    nicknames: tuple[tuple[str, ...], ...] = Field(default_factory=lambda: NICKNAMES)
    # Names close by letters that are other people's (Michael/Michelle), never close; and,
    # with gendered_endings, a name and its other gender's ending (Mario/Maria, Paul/Paula).
    other_names: tuple[tuple[str, str], ...] = Field(default_factory=lambda: OTHER_NAMES)
    gendered_endings: bool = True
    first_names: tuple[str, ...] = FIRST_NAMES
    family_names: tuple[str, ...] = FAMILY_NAMES

    @cached_property
    def _placeholder_first(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.placeholder_first_names), re.I)

    def names_no_one(self, first_name: str) -> bool:
        """Whether a contact's first name is a till's placeholder (``placeholder_first_names``)."""
        return self._placeholder_first.fullmatch(first_name.strip()) is not None

    def signs_as_no_one(self, signature: Signature) -> bool:
        """Whether a contact's name is a placeholder a till typed: its first name, or its
        first and family names read together (``Walk`` / ``In``)."""
        first, last = signature[0], signature[1]
        return self.names_no_one(first) or self.names_no_one(f"{first} {last}")

    @cached_property
    def _nickname_of(self) -> dict[str, frozenset[str]]:
        forms: dict[str, set[str]] = {}
        for group in self.nicknames:
            folded = {fold_name(name) for name in group}
            for name in folded:
                forms.setdefault(name, set()).update(folded)
        return {name: frozenset(group) for name, group in forms.items()}

    @cached_property
    def _others_of(self) -> dict[str, frozenset[str]]:
        others: dict[str, set[str]] = {}
        for one, other in self.other_names:
            a, b = fold_name(one), fold_name(other)
            others.setdefault(a, set()).add(b)
            others.setdefault(b, set()).add(a)
        return {name: frozenset(group) for name, group in others.items()}

    def _other_people(self, a: str, b: str) -> bool:
        """Whether two different first names are two people's though close by letters."""
        if b in self._others_of.get(a, ()):
            return True
        if not self.gendered_endings or min(len(a), len(b)) < 3:
            return False
        short, long = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) == len(long):  # Mario/Maria
            return short[:-1] == long[:-1] and {short[-1], long[-1]} == {"o", "a"}
        # Paul/Paula: a man's name, a consonant at its end, and the woman's with an -a.
        return long == short + "a" and short[-1] not in "aeiouy"

    @staticmethod
    def one_slip(a: str, b: str) -> bool:
        """Whether two folded names are one edit apart at most (two letters swapped: one)."""
        return OSA.distance(a, b, score_cutoff=1) <= 1

    def listed_first_name(self, name: str) -> bool:
        """Whether a folded word is a first name of ``nicknames`` (any of its forms)."""
        return name in self._nickname_of

    @cached_property
    def _common_first(self) -> frozenset[str]:
        return frozenset(fold_name(n) for n in self.first_names) | frozenset(self._nickname_of)

    @cached_property
    def _common_family(self) -> frozenset[str]:
        return frozenset(fold_name(n) for n in self.family_names)

    def common_first_name(self, name: str) -> bool:
        """Whether a folded word is a common first name (``first_names`` or ``nicknames``)."""
        return name in self._common_first

    def common_family_name(self, name: str) -> bool:
        """Whether a folded word is a common family name (``family_names``)."""
        return name in self._common_family

    def first_name_forms(self, name: str) -> frozenset[str]:
        """A folded first name with its listed forms (``nicknames``), and, when it is no
        common name itself (a typing: not ``Jen``, a name of its own one slip from ``Ben``),
        those of a listed name it is one slip from (``Peeggy``: Peggy's, Margaret's): how
        an address may write it."""
        forms = self._forms_of.get(name)
        if forms is None:
            found = {name, *self._nickname_of.get(name, ())}
            if len(name) >= 3 and not self.common_first_name(name):
                for listed, group in self._nickname_of.items():
                    if len(listed) >= 3 and self.one_slip(listed, name):
                        found |= group
            forms = self._forms_of[name] = frozenset(found)
        return forms

    @cached_property
    def _forms_of(self) -> dict[str, frozenset[str]]:
        return {}

    def first_names_close(self, a: str, b: str) -> bool:
        """Whether two folded first names are close (the near-duplicate rule's test)."""
        return self._close(a, b, self.first_name_min, True)

    def last_names_close(self, a: str, b: str) -> bool:
        """Whether two folded family names are close (a typo: ``smth``/``smith``)."""
        return self._close(a, b, self.last_name_min, False)

    def first_name_in(self, word: str, form: str) -> bool:
        """Whether a word of an address (folded, no digits) may be a first name's ``form``
        written as people write their own in addresses: the same or close
        (:meth:`_close`), the name's end (``xander``: Alexander), or the name with a slip
        and something after it (``jessca`` for Jessica, ``stephanie`` for Steph)."""
        if word == form or self._close(form, word, self.first_name_min, True):
            return True
        if len(form) >= 4 and (word.endswith(form) or (len(word) >= 4 and form.endswith(word))):
            return True
        if len(form) <= 3:  # Zie for Zoe, not Steven for Sue: short names only whole
            return len(word) == len(form) and self.one_slip(word, form)
        return any(
            self.one_slip(word[:size], form) for size in (len(form), len(form) - 1, len(form) + 1)
        )

    def _close(self, a: str, b: str, least: float, short_forms: bool) -> bool:
        if a == b:
            return True
        if not a or not b:
            return False
        if short_forms:
            if b in self._nickname_of.get(a, ()):
                return True
            if self._other_people(a, b):
                return False
            typed = self._common_first if self.typed_short_forms else None
            if slipped_short_form(a, b, self._nickname_of, self._other_people, typed):
                return True  # Greg/Grefory, Suue/Susan: a short form, then a slip
            if self.initials and min(len(a), len(b)) == 1 and a[0] == b[0]:
                return True  # "J." on a form with room for an initial only
            short, long = (a, b) if len(a) < len(b) else (b, a)
            if len(short) >= self.prefix_min and long.startswith(short):
                return True
        if self.keyboard_slips and keyboard_slip(a, b):
            return True
        return JaroWinkler.similarity(a, b) >= least

    def same_person(self, a: Signature, b: Signature) -> bool:
        """Whether two contacts' signatures are one person's, names written differently.
        A family name changed (``family_name_changes``) needs both birth dates, agreeing:
        close first names and a shared value with no date to compare are a family's."""
        if not self.same_birth(a[2], b[2]):
            return False
        names = _same_names(self, a[0], a[1], b[0], b[1])
        if names == "first_only":  # a marriage: the birth date must say it, unslipped
            return self.birth_said(a[2], b[2]) in ("agreed", "swapped")
        return bool(names)

    def names_said(self, a: Signature, b: Signature) -> str:
        """What two contacts' names say, as :meth:`same_person` reads them: ``"both"``
        close (or swapped), ``"first_only"`` (a family name changed), or ``""``."""
        return _same_names(self, a[0], a[1], b[0], b[1])

    def family_names_close(self, a: str, b: str) -> bool:
        """Whether two family names are close, with one generational suffix (not ``Jr.``/none)."""
        (a, gen_a), (b, gen_b) = generation(a), generation(b)
        return gen_a == gen_b and self.last_names_close(fold_name(a), fold_name(b))

    def born_one(self, a: Signature | None, b: Signature | None) -> bool:
        """Whether two contacts give birth dates that agree (both given) under one first name
        (case, accents, a middle initial aside) or, one date, one name swapped
        (``swapped_names_born_one``): values of their own then say nothing of two people."""
        if not self.births_outweigh_own_values or a is None or b is None:
            return False
        if self.birth_said(a[2], b[2]) == "left_out" or not self.same_birth(a[2], b[2]):
            return False
        if self.swapped_names_born_one and names_swapped(a, b):  # Pham Susan, Susan Pham
            return self.birth_said(a[2], b[2]) == "agreed"
        first_a, first_b = (fold_name(first_name_core(sig[0])) for sig in (a, b))
        if not first_a or not first_b:
            return False
        one = first_a == first_b or self._one_first_name(first_a, first_b)
        return one or self._typed_born_one(first_a, first_b, a[2], b[2])

    def _typed_born_one(self, a: str, b: str, born_a: str, born_b: str) -> bool:
        """Whether two folded first names, not both common ones, are one name typed twice
        (``typos_born_one``): a slip of the fingers (``Ptarick``, ``Patruck``) under one birth
        date, the same day on both. Twins are named a letter apart (``Anne``/``Ann``)."""
        if not self.typos_born_one or self.birth_said(born_a, born_b) != "agreed":
            return False
        common = self.common_first_name
        return not (common(a) and common(b)) and finger_slip(a, b)

    def _one_first_name(self, a: str, b: str) -> bool:
        """Whether two folded first names are one name written in full and as its listed
        short form (``short_forms_born_one``: ``Jennifer``/``Jen``, ``William``/``Billy``),
        more than a letter apart (``Ann``/``Anne``, ``Jon``/``John`` are twins' names), and
        the short form is no other listed name's (``Chris``: Christopher's or Christine's)."""
        if not self.short_forms_born_one or b not in self._nickname_of.get(a, ()):
            return False
        if self.one_slip(a, b):
            return False
        short, full = (a, b) if len(a) < len(b) else (b, a)
        return all(full in group for group in self._nickname_groups if short in group)

    @cached_property
    def _nickname_groups(self) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(fold_name(name) for name in group) for group in self.nicknames)

    def names_close(self, a_first: str, a_last: str, b_first: str, b_last: str) -> bool:
        """Whether two contacts' first and family names are each close (or swapped), as
        :meth:`same_person` reads them; a family name changed is not."""
        return _same_names(self, a_first, a_last, b_first, b_last) == "both"

    def birth_said(self, a: str, b: str) -> str:
        """What two contacts' birth dates said when they were found one person's:
        ``agreed`` (one date), ``swapped`` (day and month), ``slipped`` (one digit of the
        year), ``left_out`` (one or both has none, or a placeholder date: none compared)."""
        held = self.birth_date_placeholders
        a, b = ("" if a in held else a), ("" if b in held else b)
        if not a or not b:
            return "left_out"
        if a == b:
            return "agreed"
        return "slipped" if year_slip(a, b) else "swapped"

    def same_birth(self, a: str, b: str) -> bool:
        """Whether two birth dates (ISO, ``""`` when left out) may be one person's. A
        placeholder date (``1900-01-01``) is one left out."""
        if a == b:
            return True
        held = self.birth_date_placeholders
        a, b = ("" if a in held else a), ("" if b in held else b)
        if a == b:
            return True
        if not a or not b:
            return self.birth_date_left_out_agrees
        if self.birth_year_slips and year_slip(a, b):
            return True  # 1983-03-28 and 1982-03-28: a digit of the year mistyped
        # 1970-01-02 and 1970-02-01: one form wrote the day first.
        return self.day_month_swaps and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


@value_cache(1 << 14)
def _same_names(rules: NearDuplicates, af: str, al: str, bf: str, bl: str) -> str:
    """``"both"`` (first and last names close, or swapped), ``"first_only"`` (close first
    names, family names not: a marriage, when ``family_name_changes``), or ``""``."""
    (al, a_generation), (bl, b_generation) = generation(al), generation(bl)
    if a_generation != b_generation:  # a father and his son of one name: Jr. on one only
        return ""
    af, bf = fold_name(first_name_core(af)), fold_name(first_name_core(bf))  # Ken A./Ken
    al, bl = fold_name(al), fold_name(bl)
    first, last = rules.first_name_min, rules.last_name_min
    if rules._close(af, bf, first, True):
        if rules._close(al, bl, last, False) or surname_kept(al, bl):
            return "both"
        if rules.family_name_changes:
            return "first_only"
    # First and last name swapped on one of them.
    if rules._close(af, bl, last, False) and rules._close(al, bf, first, True):
        return "both"
    return ""
