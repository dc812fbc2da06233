"""The placeholders blocklist of the match rules (``[blocklist]`` in the rules file): values
typed to get past a form, listed or matched by pattern, which identify no one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Blocklist"]


class Blocklist(BaseModel):
    """Placeholders: values typed to get past a form, which identify no one.

    A value is a placeholder when it is listed here exactly or matches a pattern. (The data
    shows the rest: a value carried by more than ``hub_max_people`` people is a hub.) A
    placeholder never links, and never keys a record of its own: a purchase whose only
    identifier is one has no owner.

    Attributes:
        emails: exact addresses.
        email_patterns: regular expressions searched in the whole address.
        email_local_parts: regular expressions the part before ``@`` matches whole.
        email_domains: regular expressions the part after ``@`` matches whole.
        phones: exact numbers, in E.164.
        phone_patterns: regular expressions searched in the E.164 number.
        cards: exact loyalty numbers (normalized: upper case, no separators).
        card_patterns: regular expressions searched in the normalized loyalty number.
        crm_ids: exact contact ids (a login's user id included).
        crm_id_patterns: regular expressions searched in a contact id: what a script sends
            when it has none (``0``, ``undefined``, ``[object Object]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    emails: list[str] = Field(
        default_factory=lambda: [
            "test@test.com",
            "none@none.com",
            "noemail@noemail.com",
            "na@na.com",
            "no@email.com",
            "email@email.com",
            "a@b.com",  # the first letters, as "abc" and "asdf" are the first keys
        ]
    )
    email_patterns: list[str] = Field(
        default_factory=lambda: [
            # The same word on both sides: na@na.com, x@x.com, asdf@asdf.com.
            r"^([^@]+)@\1\.[a-z]+$",
        ]
    )
    email_local_parts: list[str] = Field(
        default_factory=lambda: [
            r"no|none|nomail|noemail|no[._-]?e?mail|noreply|no-reply|donotreply|do-not-reply",
            r"n[./]?a|null|nil|void|unknown|dummy|fake|declined|refused|customer|guest",
            r"test|testing|asdf|qwerty|abc|xyz",
            # A business's own role addresses, typed for a customer's receipt.
            r"(no[._-]?)?e?receipts?|sales|info|admin|webmaster",
        ]
    )
    email_domains: list[str] = Field(
        default_factory=lambda: [
            r"(example|test|invalid)\.(com|org|net)|invalid|localhost",
            r"(none|noemail|nomail|no-?email|email)\.(com|org|net)",
        ]
    )
    phones: list[str] = Field(default_factory=list)
    phone_patterns: list[str] = Field(
        # One repeated digit (0000000000) and digit runs are what a till gets when a
        # customer will not give a number.
        default_factory=lambda: [r"^\+\d?(\d)\1{6,}$", r"1234567", r"9876543", r"0123456"]
    )
    cards: list[str] = Field(default_factory=list)
    card_patterns: list[str] = Field(
        # A house card a till keeps for customers without one: one digit repeated
        # (HP9999999999, 0000000000), or a long number ending in six zeros, the first of a
        # store's range (2900045000000).
        default_factory=lambda: [r"^[A-Z]*(\d)\1{5,}$", r"^[A-Z]*\d{6,}0{6}$"]
    )
    crm_ids: list[str] = Field(default_factory=list)
    crm_id_patterns: list[str] = Field(
        # What a web page's script sends as the user id when it has none.
        default_factory=lambda: [r"(?i)^(0+|-1|undefined|null|none|nil|nan|\[object object\])$"]
    )
