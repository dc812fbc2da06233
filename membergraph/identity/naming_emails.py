"""Whether e-mails of their own on two contacts of one name, a birth date left out, say two
people: only when each names its contact.

Two contacts on one phone with close names and a birth date left out on one are one person
enrolled again, unless values of their own on each say two
(``reenrolments.own_values_say_two``): a father and son of one name on the household's
landline each give an address of his own. Such namesakes each give one naming himself
(``daniel.smith82@``, ``dsmith@``); a customer enrolled again at a till gives whatever
address comes to mind, a handle as often as not (``bluejay4233@`` beside
``william858@``), or one naming no one the lists know. So when one contact's addresses of
her own all fail to name her, the e-mails are no evidence of two people
(``reenrolments.own_emails_name_each``); phones of their own at one home still are. The
handle must be on the contact without a birth date, the quick enrolment: a dated contact's
handle beside an undated one naming himself was a father and his son on a 20,000-people
holdout (David Gagnon, 1963, ``hockeyfan3393@``; his son's ``gagnond@``, no birth date).

Counted on the independent sets s1 to s9 (main 3701e90, contacts on a shared phone, a birth
date left out, each with an e-mail of her own): one person's 47 pairs when one side's
addresses do not name her, none of two people's; when both do, 41 one person's and 6 two
people's (namesakes), left as they were. With the handle on the undated contact only: 118
of the 192 one-person profile pairs the rule joins there kept (in process, the lead's
/tmp/lead25/tools/variant.py), none of two people's either way.
"""

from __future__ import annotations

from collections.abc import Callable

from membergraph.identity.email_names import names_her
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.values import own_values_disagree

__all__ = ["emails_name_each"]


def emails_name_each(
    a: RecordData,
    b: RecordData,
    rules: Rules,
    someones: Callable[[IdentifierKind, str], bool],
    one_place: Callable[[RecordData, RecordData], bool] | None = None,
) -> bool:
    """Whether values of their own on two contacts (a birth date left out on one) still say
    two people once e-mails that do not name their contact are weighed as nothing: each has
    an e-mail of her own (``someones``: one that identifies someone, not the other's) and
    each names her, or phones of their own say two (``one_place``, as
    :func:`~membergraph.identity.values.own_values_disagree` compares them). True whenever
    the rule is off or both birth dates are given.

    Example:
        >>> from membergraph.identity.records import Identifier
        >>> def contact(key, first, born, email):
        ...     ident = Identifier(IdentifierKind.EMAIL, email, email, "crm")
        ...     return RecordData("crm", key, "profile", {ident}, first, "Miller", born)
        >>> from datetime import date
        >>> a = contact("C1", "William", None, "bluejay4233@icloud.com")
        >>> b = contact("C2", "William", date(1981, 9, 17), "william858@gmail.com")
        >>> emails_name_each(a, b, Rules(), lambda kind, key: True)
        False
    """
    near = rules.near_duplicates
    if not rules.reenrolments.own_emails_name_each:
        return True
    births = [(r.birth_date.isoformat() if r.birth_date else "") for r in (a, b)]
    if near.birth_said(*births) != "left_out":
        return True
    mine, theirs = _own_emails(a, rules, someones), _own_emails(b, rules, someones)
    mine, theirs = mine - theirs, theirs - mine
    if not mine or not theirs:
        return True  # phones of their own are what differ: weighed as they were
    unnamed = [
        record
        for record, own in ((a, mine), (b, theirs))
        if not any(names_her(email, record.first_name, record.last_name, near) for email in own)
    ]
    if not unnamed:
        return True  # namesakes, each giving an address naming himself
    if any(record.birth_date is not None for record in unnamed):
        # The handle is the dated contact's: not the quick enrolment at a till (no birth
        # date), but a father's own address beside his undated son's naming himself.
        return True

    def phones(kind: IdentifierKind, key: str) -> bool:
        return kind is not IdentifierKind.EMAIL and someones(kind, key)

    return own_values_disagree(a, b, rules, phones, True, one_place)


def _own_emails(
    record: RecordData, rules: Rules, someones: Callable[[IdentifierKind, str], bool]
) -> set[str]:
    return {
        i.key
        for i in record.identifiers
        if i.kind is IdentifierKind.EMAIL
        and not rules.is_junk(i.kind, i.key)
        and someones(i.kind, i.key)
    }
