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

from membergraph.identity.normalize import IdentifierKind

__all__ = ["DEFAULT_RULES_FILE", "Blocklist", "Rules", "RulesError", "load_rules"]


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


class Rules(BaseModel):
    """The identity engine's configuration.

    Attributes:
        limits: at most this many distinct values of a kind per member. A link that would
            exceed a limit is not made and is recorded as a conflict.
        hub_max_people: a value carried by more distinct people (CRM people, loyalty cards,
            accounts) than this stops being a linking key.
        hub_max_records: a value on more records than this is a hub whatever they are.
        trust: how much each capture channel is trusted when two pieces of evidence disagree.
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
    blocklist: Blocklist = Field(default_factory=Blocklist)

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
        }

    def is_junk(self, kind: IdentifierKind, key: str) -> bool:
        """Whether a value is a placeholder by the blocklist (exactly or by pattern)."""
        junk = self._junk.get(kind)
        if junk is None:
            return False  # only e-mails and phones have placeholders
        exact, patterns = junk
        if key in exact:
            return True
        # A loop, not any(): a first load asks this of every value once (0.3 s a batch).
        for pattern in patterns:  # noqa: SIM110
            if pattern.search(key):
                return True
        return False


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
