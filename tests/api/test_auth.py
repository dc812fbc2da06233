"""Who may read what: an auth matrix over real HTTP with API keys configured."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from membergraph.app import create_app
from membergraph.graphiql import example_query
from membergraph.settings import Settings, SettingsError, load_settings

KEYS = {
    "personalization-key-0001": {"name": "personalization", "scopes": ["profile:read"]},
    "analyst-key-000000000001": {"name": "analyst", "scopes": ["profile:read", "analytics:read"]},
    "analyst-pii-key-00000001": {
        "name": "analyst-pii",
        "scopes": ["profile:read", "analytics:read", "pii:read"],
    },
    "steward-key-000000000001": {
        "name": "steward-sue",
        "scopes": ["profile:read", "identity:write"],
    },
    "pos-system-key-000000001": {"name": "pos", "scopes": ["ingest:write"]},
    "steward-pii-key-00000001": {
        "name": "steward-pii",
        "scopes": ["profile:read", "identity:write", "pii:read"],
    },
}
ROLE_KEY = {spec["name"]: key for key, spec in KEYS.items()}
JANE = {
    "contact_id": "C-JANE",
    "first_name": "Jane",
    "last_name": "Doe",
    "emails": ["jane.doe@mail.com"],
    "phones": ["+1 415 555 0134"],
    "birth_date": "1985-04-12",
    "address": {
        "line1": "1 Main St",
        "city": "Springfield",
        "postal_code": "62701",
        "country": "US",
    },
}
ONLINE = {
    "transaction_id": "T-J",
    "email": "jane.doe@mail.com",
    "channel": "online",
    "occurred_at": "2026-10-01T00:00:00Z",
    "amount_cents": 100,
}


@pytest.fixture
def secured(settings: Settings, data_dir: Path) -> Iterator[TestClient]:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(JANE) + b"\n")
    with (data_dir / "transactions.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(ONLINE) + b"\n")
    secured_settings = settings.model_copy(update={"api_keys": Settings(api_keys=KEYS).api_keys})
    with TestClient(create_app(secured_settings), base_url="http://127.0.0.1") as client:
        yield client


PROFILE = """{ memberByIdentifier(kind: CRM_ID, value: "C-JANE") {
  profile { firstName birthDate address { line1 city } emails { value } phones { value } }
  records { key } identifiers { kind value } } }"""


def _ask(client: TestClient, role: str, query: str) -> dict[str, object]:
    response = client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {ROLE_KEY[role]}"}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("role", "email", "phone", "birth", "line1", "online_key"),
    [
        pytest.param(
            "personalization",
            "j***@mail.com",
            "***-0134",
            None,
            "***",
            "online:j***@mail.com",
            id="personalization-masked",
        ),
        pytest.param(
            "analyst",
            "j***@mail.com",
            "***-0134",
            None,
            "***",
            "online:j***@mail.com",
            id="analyst-masked",
        ),
        pytest.param(
            "analyst-pii",
            "jane.doe@mail.com",
            "+14155550134",
            "1985-04-12",
            "1 Main St",
            "online:jane.doe@mail.com",
            id="analyst-with-pii",
        ),
    ],
)
def test_personal_fields_are_masked_without_pii_read(
    secured: TestClient,
    role: str,
    email: str,
    phone: str,
    birth: str | None,
    line1: str,
    online_key: str,
) -> None:
    member = _ask(secured, role, PROFILE)["data"]["memberByIdentifier"]  # type: ignore[index]
    profile = member["profile"]
    assert profile["firstName"] == ("Jane" if birth else "***")
    assert profile["address"]["city"] == "Springfield"
    assert profile["emails"] == [{"value": email}] and profile["phones"] == [{"value": phone}]
    assert profile["birthDate"] == birth and profile["address"]["line1"] == line1
    assert online_key in {r["key"] for r in member["records"]}
    values = {i["kind"]: i["value"] for i in member["identifiers"]}
    assert values["EMAIL"] == email and values["CRM_ID"] == "C-JANE"


@pytest.mark.parametrize(
    ("role", "query", "allowed"),
    [
        pytest.param(
            "personalization",
            "{ segmentCounts { segment } }",
            False,
            id="personalization-no-segments",
        ),
        pytest.param("analyst", "{ segmentCounts { segment } }", True, id="analyst-segments"),
        pytest.param(
            "personalization",
            "{ identityConflicts { totalCount } }",
            False,
            id="personalization-no-conflicts",
        ),
        pytest.param(
            "steward-sue",
            "{ identityConflicts { totalCount } }",
            True,
            id="steward-reviews-conflicts",
        ),
        pytest.param(
            "analyst", "{ identityConflicts { totalCount } }", True, id="analyst-counts-conflicts"
        ),
        pytest.param(
            "analyst",
            'mutation { splitMember(memberId: "m_x", records: [{source: CRM, key: "C-JANE"}], reason: "r") { id } }',
            False,
            id="analyst-cannot-split",
        ),
        pytest.param(
            "steward-sue",
            'mutation { splitMember(memberId: "m_x", records: [{source: CRM, key: "C-JANE"}], reason: "r") { id } }',
            True,
            id="steward-may-split",
        ),
    ],
)
def test_scopes_guard_analytics_and_identity_writes(
    secured: TestClient, role: str, query: str, allowed: bool
) -> None:
    answer = _ask(secured, role, query)
    codes = [e["extensions"]["code"] for e in answer.get("errors", [])]  # type: ignore[union-attr]
    if allowed:
        assert "FORBIDDEN" not in codes
    else:
        assert codes == ["FORBIDDEN"]


def test_a_stewards_change_is_recorded_under_the_keys_holder(secured: TestClient) -> None:
    query = """mutation { linkRecords(a: {source: CRM, key: "C-JANE"}, b: {source: TRANSACTIONS, key: "online:jane.doe@mail.com"}, reason: "same") { id identityHistory { actor } } }"""
    answer = _ask(secured, "steward-sue", query)
    assert "errors" not in answer, answer
    [member] = answer["data"]["linkRecords"]  # type: ignore[index]
    assert "steward-sue" in {e["actor"] for e in member["identityHistory"]}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-key"),
        pytest.param({"authorization": "Bearer wrong-key-0000000000"}, id="unknown-key"),
        pytest.param({"x-api-key": ""}, id="empty-key"),
    ],
)
def test_nothing_but_health_answers_without_a_key(
    secured: TestClient, headers: dict[str, str]
) -> None:
    response = secured.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    page = {"accept": "text/html", **headers}
    assert (
        secured.get("/graphql", params={"query": "{ __typename }"}, headers=page).status_code == 401
    )
    assert secured.get("/graphql", headers=page).status_code == 401
    assert secured.get("/metrics", headers=headers).status_code == 401
    assert secured.post("/ingest/crm", content=b"{}", headers=headers).status_code == 401
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200


def test_a_push_sources_key_pushes_lines_and_reads_no_metrics(secured: TestClient) -> None:
    # Given the key every till holds (ingest:write alone), when it asks for the metrics
    pos = {"x-api-key": ROLE_KEY["pos"]}
    said = secured.get("/metrics", headers=pos)
    # Then it is refused, saying why, and an operator's key reads them
    assert said.status_code == 403 and "push source" in said.json()["error"]
    assert "membergraph_" not in said.text
    steward = {"x-api-key": ROLE_KEY["steward-sue"]}
    assert "membergraph_http_request" in secured.get("/metrics", headers=steward).text


def test_a_browser_opens_graphiql_with_the_key_as_basic_password(
    settings: Settings, data_dir: Path
) -> None:
    keyed = settings.model_copy(
        update={"api_keys": Settings(api_keys=KEYS).api_keys, "graphiql": True}
    )
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as browser:
        refused = browser.get("/graphql", headers={"accept": "text/html"})
        assert refused.status_code == 401
        assert any(v.startswith("Basic") for v in refused.headers.get_list("www-authenticate")), (
            "a browser is asked for the key"
        )
        basic = base64.b64encode(f"analyst:{ROLE_KEY['analyst']}".encode()).decode()
        page = browser.get(
            "/graphql", headers={"accept": "text/html", "authorization": f"Basic {basic}"}
        )
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        # No member's data in the page: an example that runs on any store (no made-up
        # e-mail, which would be a placeholder: PLACEHOLDER_IDENTIFIER on the first run)
        assert "query FirstMembers" in page.text and "query Profile" not in page.text
        ran = browser.post(
            "/graphql",
            json={"query": example_query(None)},
            headers={"authorization": f"Basic {basic}"},
        )
        assert ran.status_code == 200 and "errors" not in ran.json(), ran.text
        assert ran.json()["data"]["members"]["totalCount"] > 0
        wrong = base64.b64encode(b"analyst:not-the-key").decode()
        assert (
            browser.get("/graphql", headers={"authorization": f"Basic {wrong}"}).status_code == 401
        )


def test_x_api_key_header_works_too(secured: TestClient) -> None:
    response = secured.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-api-key": ROLE_KEY["analyst"]}
    )
    assert response.json()["data"] == {"__typename": "Query"}


def test_a_websocket_without_a_key_is_closed(secured: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        secured.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        ws.receive_json()
    assert closed.value.code == 4403


def test_settings_refuse_short_keys_and_unknown_scopes() -> None:
    with pytest.raises(ValueError, match="api_keys"):
        Settings(api_keys={"short": {"name": "x", "scopes": ["profile:read"]}})
    with pytest.raises(ValueError, match="api_keys"):
        Settings(api_keys={"long-enough-key-0001": {"name": "x", "scopes": ["root"]}})


SECRET = "jwt-test-secret-of-32-bytes-long!!"


def _token(**claims: object) -> str:
    import jwt

    body = {"sub": "app", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@pytest.fixture
def jwt_client(settings: Settings, data_dir: Path) -> Iterator[TestClient]:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(JANE) + b"\n")
    secured_settings = settings.model_copy(update={"jwt_secret": SecretStr(SECRET)})
    with TestClient(create_app(secured_settings), base_url="http://127.0.0.1") as client:
        yield client


def _with(client: TestClient, token: str, query: str) -> dict[str, object]:
    return client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    ).json()  # type: ignore[no-any-return]


def test_a_frontend_apps_member_token_reads_only_its_member(jwt_client: TestClient) -> None:
    analyst = _token(sub="analyst", scope="profile:read pii:read")
    jane = _with(
        jwt_client, analyst, '{ memberByIdentifier(kind: CRM_ID, value: "C-JANE") { id } }'
    )["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
    app_token = _token(sub="app", scope="profile:read pii:read", member_id=jane)
    own = _with(
        jwt_client, app_token, f'{{ member(id: "{jane}") {{ profile {{ emails {{ value }} }} }} }}'
    )
    assert own["data"]["member"]["profile"]["emails"] == [{"value": "jane.doe@mail.com"}]  # type: ignore[index]
    someone = _with(jwt_client, analyst, "{ members(first: 2) { edges { node { id } } } }")["data"][
        "members"
    ]["edges"]  # type: ignore[index]
    other = next(e["node"]["id"] for e in someone if e["node"]["id"] != jane)
    refused = _with(jwt_client, app_token, f'{{ member(id: "{other}") {{ id }} }}')
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # type: ignore[index]
    listing = _with(jwt_client, app_token, "{ members { totalCount } }")
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # type: ignore[index]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(exp=int(time.time()) - 10), id="expired"),
        pytest.param(lambda: jwt_encode_other_secret(), id="wrong-secret"),
        pytest.param(lambda: "a.b.c", id="garbage"),
    ],
)
def test_bad_tokens_are_refused(jwt_client: TestClient, token: Callable[[], str]) -> None:
    response = jwt_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"authorization": f"Bearer {token()}"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("claim", ["exp", "sub"])
def test_a_token_without_a_required_claim_is_refused_naming_it(
    jwt_client: TestClient, claim: str
) -> None:
    # Adversarial pass: a signed JWT without exp was told "an API key is required".
    import jwt

    claims = {"sub": "app", "exp": int(time.time()) + 600, "scope": "profile:read"}
    del claims[claim]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    response = jwt_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["message"].startswith(f"the token has no {claim} claim")


def jwt_encode_other_secret() -> str:
    import jwt

    return jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60},
        "another-secret-of-32-bytes-long!!!",
        algorithm="HS256",
    )


def test_graphiql_and_introspection_are_off_once_credentials_are_set(
    jwt_client: TestClient,
) -> None:
    token = _token(scope="profile:read")
    page = jwt_client.get(
        "/graphql", headers={"accept": "text/html", "authorization": f"Bearer {token}"}
    )
    # (no page: the answer says GraphiQL is off, and how to turn it on)
    assert page.status_code == 404 and "<html" not in page.text.lower()
    assert "MEMBERGRAPH_GRAPHIQL" in page.json()["errors"][0]["message"]
    answer = _with(jwt_client, token, "{ __schema { types { name } } }")
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # type: ignore[index]


def test_rs256_tokens_from_a_jwks_file(settings: Settings, tmp_path: Path) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    (tmp_path / "jwks.json").write_bytes(orjson.dumps({"keys": [jwk]}))
    secured = settings.model_copy(
        update={"jwt_jwks": tmp_path / "jwks.json", "jwt_audience": "membergraph"}
    )
    good = jwt.encode(
        {"sub": "svc", "aud": "membergraph", "exp": int(time.time()) + 60, "scope": "profile:read"},
        private,
        algorithm="RS256",
    )
    wrong_audience = jwt.encode(
        {"sub": "svc", "aud": "other", "exp": int(time.time()) + 60}, private, algorithm="RS256"
    )
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        ok = client.post(
            "/graphql",
            json={"query": "{ members { totalCount } }"},
            headers={"authorization": f"Bearer {good}"},
        )
        assert ok.status_code == 200 and ok.json()["data"]["members"]["totalCount"] > 0
        refused = client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": f"Bearer {wrong_audience}"},
        )
        assert refused.status_code == 401


def test_only_the_graphql_transport_ws_protocol_is_accepted(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4406


def test_only_ingest_write_may_push_source_lines(secured: TestClient) -> None:
    line = {
        "transaction_id": "T-POS-1",
        "loyalty_id": "LD55550001",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 100,
    }
    refused = secured.post(
        "/ingest/transactions", json=[line], headers={"x-api-key": ROLE_KEY["analyst-pii"]}
    )
    assert refused.status_code == 403 and "ingest:write" in refused.json()["error"]
    accepted = secured.post(
        "/ingest/transactions", json=[line], headers={"x-api-key": ROLE_KEY["pos"]}
    )
    assert accepted.status_code == 200
    reading = secured.post(
        "/graphql",
        json={"query": "{ members { totalCount } }"},
        headers={"x-api-key": ROLE_KEY["pos"]},
    )
    assert reading.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


DAY = 86_400


@pytest.mark.parametrize(
    ("issued", "expires", "since"),
    [
        pytest.param(0, 10 * 365 * DAY, "its iat", id="ten-years"),
        pytest.param(None, 2 * DAY, "now", id="two-days-without-iat"),
        pytest.param(-3 * DAY, 60, "its iat", id="issued-three-days-ago"),
    ],
)
def test_a_token_living_longer_than_a_day_is_refused(
    jwt_client: TestClient, issued: int | None, expires: int, since: str
) -> None:
    now = int(time.time())
    claims: dict[str, object] = {"exp": now + expires, "scope": "profile:read"}
    if issued is not None:
        claims["iat"] = now + issued

    response = jwt_client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": f"Bearer {_token(**claims)}"},
    )

    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == (
        f"the token's exp is more than 86400 s after {since}; "
        "this gateway accepts tokens that live at most that long"
    )


def test_the_longest_token_lifetime_is_a_setting(settings: Settings) -> None:
    hour = settings.model_copy(update={"jwt_secret": SecretStr(SECRET), "jwt_max_lifetime_s": 3600})
    now = int(time.time())
    with TestClient(create_app(hour), base_url="http://127.0.0.1") as client:
        for lifetime, status in ((1800, 200), (7200, 401)):
            token = _token(iat=now, exp=now + lifetime)
            response = client.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == status, (lifetime, response.text)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("s", id="one-character"),
        pytest.param("x" * 31, id="31-bytes"),
    ],
)
def test_a_short_hs256_secret_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, secret: str
) -> None:
    monkeypatch.setenv("MEMBERGRAPH_JWT_SECRET", secret)
    with pytest.raises(SettingsError, match="MEMBERGRAPH_JWT_SECRET: .*at least 32 bytes"):
        load_settings()
    short = settings.model_copy(update={"jwt_secret": SecretStr(secret)})
    with pytest.raises(ValueError, match="MEMBERGRAPH_JWT_SECRET: .*at least 32 bytes"):
        create_app(short)
    monkeypatch.setenv("MEMBERGRAPH_JWT_SECRET", "é" * 16)  # 32 bytes in UTF-8
    assert load_settings().jwt_secret is not None


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        pytest.param("steward-sue", "online:j***@mail.com", id="steward-masked"),
        pytest.param("steward-pii", "online:jane.doe@mail.com", id="pii-read-unmasked"),
    ],
)
def test_a_refused_links_record_keys_are_masked_as_fields_are(
    secured: TestClient, role: str, shown: str
) -> None:
    # Given Jane's online account in her member, and another contact
    other = {"contact_id": "C-OTTO", "first_name": "Otto"}
    pushed = secured.post("/ingest/crm", json=[other], headers={"x-api-key": ROLE_KEY["pos"]})
    assert pushed.status_code == 200, pushed.text
    # When a steward (with or without pii:read) links her online account to that contact
    link = """mutation { linkRecords(a: {source: TRANSACTIONS, key: "online:jane.doe@mail.com"},
        b: {source: CRM, key: "C-OTTO"}, reason: "test") { id } }"""
    answer = _ask(secured, role, link)
    # Then the refusal names her record as `records { key }` would show it to this caller
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "WOULD_MOVE_RECORDS"
    assert error["extensions"]["records"] == [f"transactions:{shown}"]
    assert f"transactions:{shown}" in error["message"]
    if shown.startswith("online:j***"):
        assert "jane.doe" not in str(answer)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"scope": ["profile:read", "pii:read"]}, id="scope-a-list"),
        pytest.param({"scopes": "profile:read pii:read"}, id="scopes-a-string"),
        pytest.param({"scopes": ["profile:read pii:read"]}, id="scopes-one-spaced-string"),
    ],
)
def test_scopes_are_read_as_identity_providers_write_them(
    jwt_client: TestClient, claims: dict[str, object]
) -> None:
    # Adversarial pass (adv6): a scope list was read as one string and a scopes string
    # letter by letter: the token was granted nothing and told it lacked profile:read.
    viewer = _with(jwt_client, _token(**claims), "{ viewer { scopes } }")
    assert viewer["data"]["viewer"]["scopes"] == ["pii:read", "profile:read"], viewer  # type: ignore[index]


@pytest.mark.parametrize(
    ("claims", "said"),
    [
        pytest.param({"sub": ""}, "sub claim must name who it is", id="sub-empty"),
        pytest.param({"sub": "  "}, "sub claim must name who it is", id="sub-blank"),
        pytest.param({"scope": {"a": 1}}, "scope claim must be", id="scope-an-object"),
        pytest.param({"scopes": [1, 2]}, "scope claim must be", id="scopes-numbers"),
    ],
)
def test_a_token_naming_nobody_or_unreadable_scopes_is_refused_saying_why(
    jwt_client: TestClient, claims: dict[str, object], said: str
) -> None:
    # Adversarial pass (adv6): sub "" was accepted, so its reads of personal data were
    # audited (piiAccessLog) and its changes recorded under an empty actor.
    response = jwt_client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": f"Bearer {_token(**claims)}"},
    )
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert said in error["message"], error
