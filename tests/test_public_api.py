from __future__ import annotations

import membergraph


def test_the_public_surface_is_what_users_import() -> None:
    assert sorted(membergraph.__all__) == [
        "Connector",
        "ConnectorError",
        "FakeConnector",
        "Rules",
        "Settings",
        "SourceTimeout",
        "SourceUnavailable",
        "load_rules",
    ]
    for name in membergraph.__all__:
        assert getattr(membergraph, name) is not None
