"""membergraph: a GraphQL gateway over CRM, transactions, web analytics and call center.

What users import is here; everything else is the package's own business.
"""

from __future__ import annotations

from membergraph.connectors.base import (
    Connector,
    ConnectorError,
    FakeConnector,
    SourceTimeout,
    SourceUnavailable,
)
from membergraph.identity.rules import Rules, load_rules
from membergraph.settings import Settings

__all__ = [
    "Connector",
    "ConnectorError",
    "FakeConnector",
    "Rules",
    "Settings",
    "SourceTimeout",
    "SourceUnavailable",
    "load_rules",
]
__version__ = "0.1.0"
