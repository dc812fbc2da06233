from __future__ import annotations

from pathlib import Path

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


SECRET_KEY = "a-real-secret-key-of-the-pos-0001"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        pytest.param(
            f'{{"{SECRET_KEY}": {{"name": "pos", "scopes": ["ingest:wirte"]}}}}',
            "MEMBERGRAPH_API_KEYS (a key's scopes.0): Input should be",
            id="a-scope-mistyped",
        ),
        pytest.param(
            f'{{"{SECRET_KEY}": {{"scopes": ["ingest:write"]}}}}',
            "MEMBERGRAPH_API_KEYS (a key's name): Field required",
            id="no-name",
        ),
        pytest.param(
            '{"short-secret-15": {"name": "pos", "scopes": []}}',
            "MEMBERGRAPH_API_KEYS (a key): String should have at least 16 characters",
            id="too-short",
        ),
    ],
)
def test_a_bad_api_key_setting_is_named_without_the_key(
    monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    # Adversarial pass (adv6): the error named the variable as MEMBERGRAPH_API_KEYS_<the
    # key itself>_SCOPES_0, so a typo in a scope printed the secret to the log.
    monkeypatch.setenv("MEMBERGRAPH_API_KEYS", value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert said in str(refused.value)
    assert SECRET_KEY.upper() not in str(refused.value).upper()
    assert "short-secret-15".upper() not in str(refused.value).upper()


@pytest.mark.parametrize(
    "variable",
    [
        "MEMBERGRAPH_API_KEYS",
        "MEMBERGRAPH_TIERS",
        "MEMBERGRAPH_CORS_ORIGINS",
        "MEMBERGRAPH_EXCHANGE_RATES",
    ],
)
def test_a_json_setting_that_is_no_json_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # Adversarial pass (adv6): a missing brace was a 150-line traceback from pydantic-settings.
    monkeypatch.setenv(variable, '{"a-real-secret-key-of-the-pos-0001": {"name": "pos"}')
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == f"invalid setting {variable}: its value is not valid JSON"


def test_no_tier_at_all_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Adversarial pass (adv6): MEMBERGRAPH_TIERS={} started, then every member's loyalty
    # answered "Unexpected error." (an IndexError choosing the tier).
    monkeypatch.setenv("MEMBERGRAPH_TIERS", "{}")
    with pytest.raises(SettingsError, match="MEMBERGRAPH_TIERS: Dictionary should have at least"):
        load_settings()


@pytest.mark.parametrize(
    ("currency", "rates", "said"),
    [
        pytest.param("USD", '{"CAD": 0}', "MEMBERGRAPH_EXCHANGE_RATES (CAD): Input should be"
                     " greater than 0", id="a-zero-rate"),
        pytest.param("USD", '{"cad": -0.7}', "MEMBERGRAPH_EXCHANGE_RATES (cad): Input should be"
                     " greater than 0", id="a-negative-rate"),
        pytest.param("USD", '{"CAD": "NaN"}', "MEMBERGRAPH_EXCHANGE_RATES (CAD): Input should be"
                     " a finite number", id="not-a-number"),
        pytest.param("USD", '{"dollars": 1}', "MEMBERGRAPH_EXCHANGE_RATES (dollars): 'dollars' is"
                     " no ISO 4217 currency code (three letters, such as USD)", id="no-code"),
        pytest.param("eur", '{"EUR": 1}', "MEMBERGRAPH_EXCHANGE_RATES gives a rate for EUR, the"
                     " currency spend is counted in (MEMBERGRAPH_CURRENCY): its amounts count as"
                     " they are", id="a-rate-for-the-counted-currency"),
        pytest.param("€", "{}", "MEMBERGRAPH_CURRENCY: '€' is no ISO 4217 currency code (three"
                     " letters, such as USD)", id="a-sign-for-a-code"),
    ],
)  # fmt: skip
def test_a_bad_currency_setting_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, currency: str, rates: str, said: str
) -> None:
    monkeypatch.setenv("MEMBERGRAPH_CURRENCY", currency)
    monkeypatch.setenv("MEMBERGRAPH_EXCHANGE_RATES", rates)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == f"invalid setting {said}"


def test_currencies_are_read_in_any_case_and_rates_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBERGRAPH_CURRENCY", " eur")
    monkeypatch.setenv("MEMBERGRAPH_EXCHANGE_RATES", '{"usd": 0.15, "GBP": "1.17"}')
    money = load_settings().loyalty_program.money
    assert money.counted_in == "EUR"
    # 0.15 is read as written, not as the float just under it: 10 cents are 1.5, to even 2
    # (1.4999... would be 1), 30 are 4.5, to even 4.
    assert (money.cents(10, "USD"), money.cents(30, "USD")) == (2, 4)
    assert money.cents(100, "GBP") == 117
    assert money.cents(100, "EUR") == money.cents(100, "JPY") == 100


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        pytest.param("MEMBERGRAPH_API_KEY", "MEMBERGRAPH_API_KEYS", id="api-key-singular"),
        pytest.param("MEMBERGRAPH_JWT_SECRETS", "MEMBERGRAPH_JWT_SECRET", id="jwt-secrets"),
        pytest.param("MEMBERGRAPH_CORS_ORIGIN", "MEMBERGRAPH_CORS_ORIGINS", id="cors-origin"),
        pytest.param(
            "MEMBERGRAPH_REQUEST_TIMEOUT_S", "MEMBERGRAPH_REQUEST_TIMEOUT", id="timeout-s"
        ),
    ],
)
def test_a_mistyped_setting_stops_start_up_naming_the_one_meant(
    monkeypatch: pytest.MonkeyPatch, variable: str, meant: str
) -> None:
    # Adversarial pass (adv7): MEMBERGRAPH_API_KEY (one letter short) was ignored and the
    # gateway started in demo mode, where every caller may do everything.
    monkeypatch.setenv(variable, '{"a-real-secret-key-of-the-pos-0001": {"name": "pos"}}')
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert f"{variable}: did you mean {meant}?" in str(refused.value)
    assert "a-real-secret" not in str(refused.value)


def test_a_variable_of_another_tool_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker-compose.yml hands the seed job MEMBERGRAPH_DB_PASSWORD, which no setting reads.
    monkeypatch.setenv("MEMBERGRAPH_DB_PASSWORD", "secret")
    monkeypatch.setenv("MEMBERGRAPH_TEST_MONGODB_URL", "mongodb://x")
    assert load_settings().host == "127.0.0.1"


def test_a_bad_entry_of_a_list_setting_is_named_by_its_variable_and_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Adversarial pass: a short former secret was reported under
    # MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS_0, a variable nobody sets.
    monkeypatch.setenv("MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS", '["' + "k" * 40 + '", "short"]')
    with pytest.raises(SettingsError) as refused:
        load_settings()
    said = str(refused.value)
    assert said.startswith("invalid setting MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS (entry 2): ")
    assert "32 bytes" in said and "short" not in said


@pytest.mark.parametrize(
    ("variable", "content", "said"),
    [
        pytest.param("MEMBERGRAPH_JWT_PUBLIC_KEY", None, "No such file", id="public-key-missing"),
        pytest.param("MEMBERGRAPH_JWT_PUBLIC_KEY", "not a key", "holds no PEM", id="public-no-key"),
        pytest.param("MEMBERGRAPH_JWT_JWKS", None, "No such file", id="jwks-missing"),
        pytest.param("MEMBERGRAPH_JWT_JWKS", "not a key", "is not JSON", id="jwks-not-json"),
        pytest.param("MEMBERGRAPH_JWT_JWKS", '{"keys": [{"kty": "RSA"}]}', "key 1", id="jwks-bad"),
    ],
)
def test_a_jwt_key_file_that_holds_no_key_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, content: str | None, said: str
) -> None:
    # Adversarial pass: a key file not there, or not JSON, stopped `serve` with a Python
    # traceback (FileNotFoundError, JSONDecodeError); a public key file holding no key
    # started the gateway, which then refused every token.
    path = tmp_path / "key"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(variable, str(path))
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert f"invalid setting {variable}" in str(refused.value)
    assert said in str(refused.value)


def test_jwt_key_files_that_hold_keys_are_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "key.pem").write_bytes(pem)
    (tmp_path / "jwks.json").write_text('{"keys": [' + RSAAlgorithm.to_jwk(public) + "]}")
    monkeypatch.setenv("MEMBERGRAPH_JWT_PUBLIC_KEY", str(tmp_path / "key.pem"))
    monkeypatch.setenv("MEMBERGRAPH_JWT_JWKS", str(tmp_path / "jwks.json"))
    settings = load_settings()
    assert settings.jwt_public_key == tmp_path / "key.pem" and settings.has_credentials


def test_an_unknown_name_in_a_mapping_setting_is_named_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Adversarial pass: it read "MEMBERGRAPH_HTTP_SOURCES (nope, [key])" (and on a terminal,
    # where "[key]" was taken for markup, "(nope, )").
    monkeypatch.setenv("MEMBERGRAPH_HTTP_SOURCES", '{"nope": {"base_url": "http://x"}}')
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "invalid setting MEMBERGRAPH_HTTP_SOURCES (nope): Input should be 'crm'" in str(
        refused.value
    )
