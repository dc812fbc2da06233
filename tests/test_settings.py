from __future__ import annotations

import pytest

from membergraph.settings import SettingsError, load_settings


def test_defaults_serve_the_demo_on_loopback() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1" and settings.is_loopback
    assert settings.store == "sqlite:///./membergraph.db"
    assert settings.data is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("MEMBERGRAPH_PORT", "abc", id="port-not-a-number"),
        pytest.param("MEMBERGRAPH_PORT", "70000", id="port-out-of-range"),
        pytest.param("MEMBERGRAPH_DEFAULT_REGION", "XX", id="unknown-region"),
        pytest.param("MEMBERGRAPH_STORE", "postgres://x", id="unsupported-store"),
        pytest.param("MEMBERGRAPH_HOST", "not a host", id="bad-host"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_environment_sets_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERGRAPH_DEFAULT_REGION", "gb")
    assert load_settings().default_region == "GB"
