"""Settings, read once from ``MEMBERGRAPH_*`` environment variables (and CLI flags).

A bad value stops start-up with the name of the setting, e.g.::

    MEMBERGRAPH_PORT=abc membergraph serve
    error: invalid setting MEMBERGRAPH_PORT: Input should be a valid integer
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import SettingsConfigDict
from pydantic_settings import SettingsError as UnreadableSetting

from membergraph.connectors.http import HttpSourceConfig
from membergraph.connectors.models import SourceName
from membergraph.program_settings import ProgramSettings
from membergraph.setting_values import (
    ApiKey,
    HmacSecret,
    HostAddress,
    JwksFile,
    JwksUrl,
    Manifest,
    Origins,
    OtlpEndpoint,
    PreviousSecret,
    PublicKeyFile,
    Region,
    SegmentThresholds,
    SourcesUrl,
    StoreUrl,
)

__all__ = ["ApiKey", "Settings", "SettingsError", "load_settings"]


class SettingsError(ValueError):
    """A setting has a bad value; the message names it as an environment variable."""


class Settings(ProgramSettings):
    """Everything the gateway reads from its environment.

    Example:
        >>> Settings(port=9000, default_region="GB").port
        9000
    """

    model_config = SettingsConfigDict(env_prefix="MEMBERGRAPH_", extra="forbid")

    data: Path | None = Field(
        default=None,
        description="Folder of source files (crm.jsonl, ...). Empty: a generated demo set.",
    )
    store: StoreUrl = Field(
        default="sqlite:///./membergraph.db",
        description="Identity store URL: sqlite:///PATH or mongodb://...",
    )
    sources: SourcesUrl | None = Field(
        default=None,
        description="Where the sources live: a mongodb:// URL (one collection per source,"
        " named after it, filled by `membergraph load`). Empty: the data folder.",
    )
    mongodb_timeout_ms: Annotated[int, Field(ge=12_000)] = Field(
        default=15_000,
        description="MongoDB: how long one operation may take (PyMongo's timeoutMS): a read of"
        " a stalled server fails after this. Waiting for a primary is part of it (PyMongo uses"
        " it instead of the server selection timeout), so at least 12000: an election.",
    )
    mongodb_server_selection_ms: Annotated[int, Field(ge=12_000)] = Field(
        default=15_000,
        description="MongoDB: how long an operation waits for a primary when no operation"
        " timeout is in force (a URL with timeoutMS=0). At least 12000: a replica set's"
        " election (10 s by default, then the vote) must fit in it.",
    )
    mongodb_transaction_ms: Annotated[int, Field(ge=1_000)] = Field(
        default=60_000,
        description="MongoDB: how long one change's transaction may take, its retries after a"
        " write conflict or a failover included; also the lease of the lock a change too"
        " large for a transaction holds (not renewed for this long: its writer is dead).",
    )
    http_sources: dict[SourceName, HttpSourceConfig] = Field(
        default_factory=dict,
        description="Sources reached over an HTTP JSON API, by name, as JSON:"
        ' {"crm": {"base_url": "https://crm.example/api", "auth_header": "Authorization",'
        ' "auth_value": "Bearer ..."}}. They override the folder or MongoDB for those sources.',
    )
    host: HostAddress = Field(default="127.0.0.1", description="Address to listen on.")
    feed_poll_s: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.2,
        description="How often each process reads the store's change feed (seconds): the lag"
        " after which a change made through another process is seen here.",
    )
    feed_retention_days: Annotated[int, Field(ge=1)] = Field(
        default=30,
        description="How long the change feed keeps entries: a subscriber may resume from a"
        " cursor this old (`after`); older cursors answer FEED_EXPIRED.",
    )
    durable: bool = Field(
        default=True,
        description="Acknowledge a pushed line only once it is on disk (fsync of file sources,"
        " SQLite synchronous=FULL). Off: faster, and a power loss may lose the last lines.",
    )
    port: Annotated[int, Field(ge=1, le=65535)] = Field(default=8000, description="TCP port.")
    default_region: Region = Field(
        default="US",
        description="Region (ISO 3166 alpha-2) for phone numbers written without a country code.",
    )
    demo_members: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=1000, description="People in the generated demo data set."
    )
    demo_seed: int = Field(default=7, description="Seed of the generated demo data set.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "membergraph",
        description="Where the generated demo data set is kept between runs.",
    )
    max_page_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=100, description="Largest `first:` a connection accepts."
    )
    max_query_depth: Annotated[int, Field(ge=2, le=50)] = Field(
        default=10, description="Deepest GraphQL selection accepted."
    )
    max_query_cost: Annotated[int, Field(ge=1)] = Field(
        default=50_000,
        description="Budget of a GraphQL request's cost (objects it may resolve, lists "
        "multiplied by `first`); a request over it is refused before it runs.",
    )
    max_ingest_lines: Annotated[int, Field(ge=1)] = Field(
        default=50_000,
        description="Most lines one `POST /ingest/{source}` takes (blank lines are not "
        "counted); a body with more is refused whole (413), nothing taken.",
    )
    rules: Path | None = Field(
        default=None, description="TOML file of identity match rules (built-in defaults if unset)."
    )
    api_keys: dict[Annotated[str, Field(min_length=16)], ApiKey] = Field(
        default_factory=dict,
        description="API keys as JSON: "
        '{"<key>": {"name": "analyst-ann", "scopes": ["profile:read"]}}.'
        " Empty: demo mode, loopback only.",
    )
    cors_origins: Origins = Field(
        default_factory=list,
        description="Browser origins allowed to call the gateway (CORS, and WebSockets from"
        ' other origins), as JSON: ["https://app.example.com"]. Empty: none.',
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Logs on stderr as text lines or JSON lines."
    )
    access_log: bool = Field(default=True, description="One log line per HTTP request.")
    otlp_endpoint: OtlpEndpoint | None = Field(
        default=None,
        description="OpenTelemetry collector (OTLP over HTTP, e.g. http://collector:4318): "
        'traces of every request, operation and resolver. Needs pip install "membergraph[otel]".',
    )
    metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = Field(
        default=None,
        description="Serve /metrics on this port too, without credentials (for a scraper "
        "on a private network); unset: /metrics on the main port only, behind credentials.",
    )
    persisted_queries: Manifest | None = Field(
        default=None,
        description="Apollo persisted query manifest (JSON) of registered operations.",
    )
    persisted_queries_only: bool = Field(
        default=False,
        description="Allow-list mode: only the manifest's operations run (public frontends).",
    )
    segments: SegmentThresholds = Field(
        default_factory=SegmentThresholds,
        description='Segment thresholds as JSON, e.g. {"dormant_days": 150}.',
    )
    jwt_secret: HmacSecret | None = Field(
        default=None, description="HS256 secret of JWT bearer tokens (at least 32 bytes)."
    )
    privacy_secret: HmacSecret | None = Field(
        default=None,
        description="Key of the hashes suppressed identifiers are kept as (at least 32 bytes)."
        " Unset: a random key made once and kept in the store, beside the hashes.",
    )
    privacy_previous_secrets: list[PreviousSecret] = Field(
        default_factory=list,
        description="Former privacy secrets whose suppressions still hold, as a JSON list"
        ' ("store": the store\'s own key); new suppressions use MEMBERGRAPH_PRIVACY_SECRET.',
    )
    pii_access_retention_days: Annotated[int, Field(ge=1)] = Field(
        default=365,
        description="How long the audit of who read personal data keeps its entries.",
    )
    jwt_max_lifetime_s: Annotated[int, Field(ge=60, le=31 * 86_400)] = Field(
        default=86_400,
        description="Longest JWT lifetime accepted, in seconds: exp - iat (exp - now without iat).",
    )
    jwt_public_key: PublicKeyFile | None = Field(
        default=None, description="PEM file: RS256 public key of JWTs."
    )
    jwt_jwks: JwksFile | None = Field(default=None, description="JWKS file: RS256 keys of JWTs.")
    jwt_jwks_url: JwksUrl | None = Field(
        default=None,
        description="JWKS URL of the identity provider that signs JWTs"
        " (https://idp.example/.well-known/jwks.json): a token's key is the one its kid names,"
        " fetched again when an unknown kid arrives (a key rotation). https, or http to loopback.",
    )
    jwt_jwks_timeout_s: Annotated[float, Field(gt=0, le=30)] = Field(
        default=2.0,
        description="Seconds a request waits for the JWKS URL (and urllib's connect and read"
        " timeouts); then 503 AUTH_UNAVAILABLE.",
    )
    jwt_jwks_lifespan_s: Annotated[float, Field(ge=10, le=86_400)] = Field(
        default=300.0,
        description="Seconds a fetched JWKS is used before it is fetched again (in the"
        " background: requests keep using the keys held meanwhile).",
    )
    jwt_jwks_cooldown_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=10.0,
        description="Seconds at least between two fetches for an unknown kid or after a failed"
        " fetch: within them an unknown kid is refused (401), a failing provider answered"
        " 503 at once, without a request to it.",
    )
    jwt_audience: str | None = Field(default=None, description="Required `aud` of JWTs, if set.")
    jwt_issuer: str | None = Field(default=None, description="Required `iss` of JWTs, if set.")
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL at /graphql (default: on in demo mode only)."
    )
    introspection: bool | None = Field(
        default=None, description="Answer introspection (default: on in demo mode only)."
    )
    request_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a GraphQL request may take."
    )
    response_cache_entries: int = Field(
        default=10_000,
        ge=0,
        description="Answers the GraphQL response cache holds per process (0: no cache).",
    )
    response_cache_bytes: int = Field(
        default=64 << 20, ge=0, description="Bytes the response cache holds per process."
    )
    response_cache_ttl_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a cached answer lives at most (changes drop it at once).",
    )
    response_cache_stored_entries: int = Field(
        default=0,
        ge=0,
        description="Answers the response cache keeps in the store, shared by every process"
        " (0: none; `membergraph warm` fills them ahead).",
    )
    response_cache_stored_bytes: int = Field(
        default=1 << 30, ge=0, description="Bytes of answers the response cache keeps in the store."
    )
    response_cache_stored_ttl_s: float = Field(
        default=86_400.0,
        gt=0,
        le=30 * 86_400,
        description="Seconds an answer kept in the store lives at most, and no longer than the"
        " feed keeps entries (changes drop it at once; the clock when its figures move).",
    )
    response_cache_warm: list[str] = Field(
        default_factory=list,
        description="Persisted queries (operation names in the manifest) `membergraph warm`"
        " answers ahead for every member or identifier they look up; the gateway makes again"
        " those a change dropped.",
    )
    response_cache_warm_as: str | None = Field(
        default=None,
        description="The API key (by name) whose caller `membergraph warm` and the gateway's"
        " re-making of dropped answers ask as (needed behind credentials).",
    )
    reference_date: date | None = Field(
        default=None,
        description="Date RFM, segments and rolling spend are computed as of (default: today).",
    )

    @model_validator(mode="after")
    def _allow_list_needs_a_manifest(self) -> Settings:
        if self.persisted_queries_only and self.persisted_queries is None:
            raise ValueError(
                "MEMBERGRAPH_PERSISTED_QUERIES_ONLY needs MEMBERGRAPH_PERSISTED_QUERIES "
                "(the manifest of the operations allowed)"
            )
        return self

    @property
    def reference_time(self) -> datetime:
        """End of the reference date (now when unset), in UTC."""
        if self.reference_date is None:
            return datetime.now(UTC)
        return datetime.combine(self.reference_date, datetime.max.time(), UTC)

    @property
    def has_credentials(self) -> bool:
        """API keys or a JWT key are configured: the gateway is no longer in demo mode."""
        jwt_keys = self.jwt_secret or self.jwt_public_key or self.jwt_jwks or self.jwt_jwks_url
        return bool(self.api_keys or jwt_keys)

    @property
    def is_loopback(self) -> bool:
        """Whether the gateway listens on a loopback address only."""
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback


def load_settings(flags: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line naming the variable, or
    the command's flag that gave the value (``flags``: the flag of each setting, ``--port``)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    flags = {key: flag for key, flag in (flags or {}).items() if key in given}
    if mistyped := _mistyped(os.environ):
        raise SettingsError(
            "unknown setting " + "; ".join(mistyped) + " (a mistyped variable is not read)"
        )
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            (f"{name}: " if (name := _variable(error["loc"], flags)) else "")
            + error["msg"].removeprefix("Value error, ")  # pydantic's word for a ValueError
            for error in exc.errors()
        ]
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
    except UnreadableSetting as exc:  # a JSON setting whose value is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"MEMBERGRAPH_{field.group(1).upper()}" if field else "a MEMBERGRAPH_ variable"
        raise SettingsError(f"invalid setting {name}: its value is not valid JSON") from None


def _mistyped(environ: Mapping[str, str]) -> list[str]:
    """``MEMBERGRAPH_`` variables that no setting reads but one is spelt nearly as: a
    mistyped ``MEMBERGRAPH_API_KEY`` would otherwise start the gateway in demo mode, where
    every caller may do everything. Others (a compose file's ``MEMBERGRAPH_DB_PASSWORD``)
    are left alone. Only names are said, never a value."""
    known = [name.upper() for name in Settings.model_fields]
    said = []
    for variable in sorted(environ):
        name = variable.removeprefix("MEMBERGRAPH_")
        if name == variable or name in known:
            continue
        if close := difflib.get_close_matches(name, known, n=1, cutoff=0.8):
            said.append(f"{variable}: did you mean MEMBERGRAPH_{close[0]}?")
    return said


def _variable(loc: tuple[int | str, ...], flags: Mapping[str, str]) -> str:
    """The variable (or flag) a validation error is about, as the operator set it. An API
    key's own text is never part of it: it is a secret, and this line goes to the log."""
    parts = [str(part) for part in loc]
    if not parts:  # a check of several settings together: its message names them
        return ""
    if parts[:1] == ["api_keys"] and len(parts) > 1:
        rest = ".".join(p for p in parts[2:] if p != "[key]")
        return "MEMBERGRAPH_API_KEYS (" + (f"a key's {rest}" if rest else "a key") + ")"
    name = flags.get(parts[0]) or "MEMBERGRAPH_" + parts[0].upper()
    # Past the field: a list's entry (counted from 1) or a mapping's key, not a variable's
    # name (MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS_0 is set nowhere).
    said = [f"entry {p + 1}" if isinstance(p, int) else str(p) for p in loc[1:] if p != "[key]"]
    return f"{name} ({', '.join(said)})" if said else name
