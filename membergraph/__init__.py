"""membergraph: a GraphQL gateway over CRM, transactions, web analytics and call center.

What users import is here; everything else is the package's own business. The names are
loaded on first use: importing a submodule (a batch's read workers import the identity
code) does not pay for the settings and HTTP client it does not use (0.4 s a process).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "Connector": "membergraph.connectors.base",
    "ConnectorError": "membergraph.connectors.base",
    "FakeConnector": "membergraph.connectors.base",
    "SourceTimeout": "membergraph.connectors.base",
    "SourceUnavailable": "membergraph.connectors.base",
    "Rules": "membergraph.identity.rules",
    "load_rules": "membergraph.identity.rules",
    "Settings": "membergraph.settings",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'membergraph' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
