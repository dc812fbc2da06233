"""The schema's fixed words: each value a client may switch on, documented.

Values are the words the sources use (``crm``, ``completed``, ``store``), so resolvers hand
back source data as it is; GraphQL shows the names (``CRM``, ``COMPLETED``, ``STORE``).
Tiers stay strings: they are the operator's (``MEMBERGRAPH_TIERS``). Identity event kinds
and rules stay strings too: a store keeps the history older versions wrote.
"""

from __future__ import annotations

from enum import Enum

import strawberry

__all__ = [
    "AccountKind",
    "ActivityKind",
    "PurchaseChannel",
    "Source",
    "TransactionStatus",
    "WebEventType",
]


@strawberry.enum(description="A source of the member graph.")
class Source(Enum):
    CRM = strawberry.enum_value(
        "crm",
        description="The CRM: contacts with names, e-mails, phones, addresses, "
        "consents and the loyalty card.",
    )
    TRANSACTIONS = strawberry.enum_value(
        "transactions", description="The transaction system: purchases at the till and online."
    )
    WEB_ANALYTICS = strawberry.enum_value(
        "web_analytics", description="Web analytics: page views and events of a visitor (device)."
    )
    CALL_CENTER = strawberry.enum_value(
        "call_center", description="The call center: calls, with the account the agent typed."
    )


@strawberry.enum(description="Where a transaction stands. Cancelled and refunded never go back.")
class TransactionStatus(Enum):
    COMPLETED = strawberry.enum_value("completed", description="Paid; earns and spends points.")
    REFUNDED = strawberry.enum_value(
        "refunded", description="Money returned: the spend and points are taken back."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Never went through: counts for nothing."
    )


@strawberry.enum(description="Where a purchase was made.")
class PurchaseChannel(Enum):
    STORE = strawberry.enum_value("store", description="At a till in a store.")
    ONLINE = strawberry.enum_value("online", description="On the web shop.")


@strawberry.enum(description="The kind of a web analytics event (Segment's spec).")
class WebEventType(Enum):
    PAGE = strawberry.enum_value("page", description="A page viewed.")
    TRACK = strawberry.enum_value("track", description="An action, named by `name`.")
    IDENTIFY = strawberry.enum_value("identify", description="The visitor logged in.")
    SCREEN = strawberry.enum_value("screen", description="A screen of a mobile app viewed.")
    GROUP = strawberry.enum_value(
        "group", description="The visitor named the account or company they are of."
    )


@strawberry.enum(description="What an agent typed to find a caller's account.")
class AccountKind(Enum):
    CRM_ID = strawberry.enum_value("crm_id", description="A CRM contact_id.")
    LOYALTY_ID = strawberry.enum_value("loyalty_id", description="A loyalty card number.")
    EMAIL = strawberry.enum_value("email", description="An e-mail address.")


@strawberry.enum(description="What a timeline item is.")
class ActivityKind(Enum):
    PURCHASE = strawberry.enum_value("PURCHASE", description="A transaction: see `transaction`.")
    WEB = strawberry.enum_value("WEB", description="A web event: see `webEvent`.")
    CALL = strawberry.enum_value("CALL", description="A call: see `call`.")
