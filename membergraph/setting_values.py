"""The kinds of value a setting holds, each with its check (see :mod:`.settings`).

A check names what is wrong and what would do, e.g. ``unknown region 'XX'; use an ISO 3166
code such as US or GB``; :func:`.settings.load_settings` puts the variable's name before it.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from membergraph.persisted import load_manifest
from membergraph.scopes import ScopeName
from membergraph.tokens import read_jwks, read_public_key

__all__ = [
    "LOOPBACK_NAMES",
    "ApiKey",
    "HmacSecret",
    "HostAddress",
    "JwksFile",
    "JwksUrl",
    "Manifest",
    "Origins",
    "OtlpEndpoint",
    "PreviousSecret",
    "PublicKeyFile",
    "Region",
    "SegmentThresholds",
    "SourcesUrl",
    "StoreUrl",
]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class ApiKey(BaseModel):
    """One API key's holder and scopes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Who holds the key: recorded as the actor.")
    scopes: list[ScopeName]


class SegmentThresholds(BaseModel):
    """Thresholds of the segments (definitions in ``membergraph/insights/rfm.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_days: int = Field(
        default=90, ge=1, description="NEW: first purchase within this many days."
    )
    at_risk_days: int = Field(
        default=90, ge=1, description="AT_RISK: no purchase for this many days."
    )
    dormant_days: int = Field(default=180, ge=1, description="ZOMBIE: nothing for this many days.")
    engagement_days: int = Field(default=90, ge=1, description="Window of e-mail engagement.")


def _known_region(value: str) -> str:
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r}; use an ISO 3166 code such as US or GB")
    return region


STORE_SCHEMES = ("sqlite:///", "mongodb://", "mongodb+srv://")
"""How a store URL (or ``membergraph load --to``) may start."""


def _known_store(value: str) -> str:
    if not value.startswith(STORE_SCHEMES):
        raise ValueError(f"unsupported store {value!r}; use sqlite:///PATH or mongodb://...")
    if value == "sqlite:///":
        raise ValueError("sqlite:/// names no file; use sqlite:///PATH")
    return value


def _known_sources(value: str) -> str:
    if not value.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError(f"unsupported sources URL {value!r}; use mongodb://...")
    return value


def _exact_origins(value: list[str]) -> list[str]:
    # A browser sends scheme://host[:port] and nothing else; anything more never matches.
    # No "*": credentials are allowed, so any page on the web could act as its visitor.
    origins = [origin.strip().rstrip("/").lower() for origin in value]
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s*]+", origin):
            raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
    # Nor does a browser send its scheme's default port: https://x:443 is https://x.
    return [re.sub(r"^(https://.+):443$|^(http://.+):80$", r"\1\2", o) for o in origins]


def _long_secret(value: SecretStr) -> SecretStr:
    # A short HMAC secret is brute-forced offline from one token (RFC 7518 3.2), or from
    # one suppression hash.
    size = len(value.get_secret_value().encode())
    if size < 32:
        raise ValueError(f"an HMAC secret needs at least 32 bytes, this one has {size}")
    return value


def _previous_secret(value: SecretStr) -> SecretStr:
    # "store": the store's own random key, which a secret set later replaced.
    return value if value.get_secret_value() == "store" else _long_secret(value)


def _trusted_jwks_url(value: str) -> str:
    # Whoever can alter this answer can sign tokens: plain http only to this machine.
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname in LOOPBACK_NAMES:
        return value
    raise ValueError(
        f"{value!r} is not an https URL (plain http is accepted to loopback only: "
        "whoever alters the keys it answers can sign tokens)"
    )


def _tracing_installed(value: str) -> str:
    if not value:  # set but empty: no tracing
        return value
    if not re.fullmatch(r"https?://\S+", value):
        raise ValueError(f"{value!r} is not an http(s) URL of an OTLP collector")
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        raise ValueError('traces need OpenTelemetry: pip install "membergraph[otel]"') from None
    return value


def _readable_manifest(value: Path) -> Path:
    load_manifest(value)  # names what is wrong with the file
    return value


def _readable_public_key(value: Path) -> Path:
    read_public_key(value)  # a file that is not there, or no key, is said at start
    return value


def _readable_jwks(value: Path) -> Path:
    read_jwks(value)
    return value


def _valid_host(value: str) -> str:
    if value != "localhost":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or 'localhost'") from None
    return value


Region = Annotated[str, AfterValidator(_known_region)]
StoreUrl = Annotated[str, AfterValidator(_known_store)]
SourcesUrl = Annotated[str, AfterValidator(_known_sources)]
Origins = Annotated[list[str], AfterValidator(_exact_origins)]
HmacSecret = Annotated[SecretStr, AfterValidator(_long_secret)]
PreviousSecret = Annotated[SecretStr, AfterValidator(_previous_secret)]
JwksUrl = Annotated[str, AfterValidator(_trusted_jwks_url)]
OtlpEndpoint = Annotated[str, AfterValidator(_tracing_installed)]
Manifest = Annotated[Path, AfterValidator(_readable_manifest)]
HostAddress = Annotated[str, AfterValidator(_valid_host)]
PublicKeyFile = Annotated[Path, AfterValidator(_readable_public_key)]
JwksFile = Annotated[Path, AfterValidator(_readable_jwks)]
