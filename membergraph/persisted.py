"""Persisted queries: Apollo's automatic protocol, and an allow-list for public frontends.

A client sends ``extensions.persistedQuery = {version: 1, sha256Hash}`` instead of the query
text. A hash the gateway knows runs its query; one it does not know answers
``PERSISTED_QUERY_NOT_FOUND``, and the client sends the text with the hash once, which
registers it (the text must hash to the hash). With a hash only, a query fits a ``GET`` URL
that a CDN can cache.

Registered operations come from a manifest file (Apollo's persisted query manifest:
``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": <sha256
of body>, "name", "type", "body"}]}``) and from clients (at most ``KEPT`` of them and
``KEPT_CHARACTERS`` of their text, least recently used first out: any caller may register,
a frontend's token in every customer's browser too, and a text may be a megabyte of
comment). In allow-list mode only the manifest's operations run, over HTTP
and WebSocket alike: any other text or hash answers ``PERSISTED_QUERY_NOT_IN_LIST`` (a hash
cannot be registered there, so ``PERSISTED_QUERY_NOT_FOUND`` would only make an Apollo
client send the text in vain) and clients register nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["KEPT", "KEPT_CHARACTERS", "PersistedQueries", "PersistedQueryError", "load_manifest"]

KEPT = 10_000
KEPT_CHARACTERS = 32 * 1024 * 1024
_HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    """A request the protocol refuses; ``code`` goes to ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """hash → query text of an Apollo persisted query manifest; a broken file is a
    ``ValueError`` naming what is wrong (start-up stops on it)."""
    try:
        document = orjson.loads(path.read_bytes())
        operations = document["operations"]
        pairs = {str(op["id"]): str(op["body"]) for op in operations}
    except OSError as exc:  # (its words without the path, said once)
        raise ValueError(f"persisted query manifest {path}: {exc.strerror}") from None
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"persisted query manifest {path}: {exc}") from None
    for hash_, body in pairs.items():
        if sha256(body) != hash_:
            message = f"id {hash_} is not the body's sha256"
            raise ValueError(f"persisted query manifest {path}: {message}")
    return pairs


class PersistedQueries:
    """Maps a request's query and extensions to the query text to run."""

    def __init__(self, manifest: Mapping[str, str] | None = None, *, only: bool = False) -> None:
        self.manifest = dict(manifest or {})
        self.only = only
        self.learned: OrderedDict[str, str] = OrderedDict()
        self._characters = 0  # of the texts learned

    def query_for(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The text to run, or :class:`PersistedQueryError`. ``None``: no query at all."""
        asked = (extensions or {}).get("persistedQuery")
        if asked is None:
            if self.only and query is not None and sha256(query) not in self.manifest:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_IN_LIST",
                    "only registered operations run here: send a registered operation's hash "
                    "in extensions.persistedQuery",
                )
            return query
        hash_ = _hash_of(asked)
        if query is None:
            return self._known(hash_)
        if sha256(query) != hash_:
            raise PersistedQueryError("BAD_REQUEST", "provided sha does not match query")
        if hash_ not in self.manifest:
            if self.only:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_IN_LIST", "this operation is not registered here"
                )
            self._learn(hash_, query)
        return query

    def _known(self, hash_: str) -> str:
        if (text := self.manifest.get(hash_)) is not None:
            return text
        if (text := self.learned.get(hash_)) is not None:
            self.learned.move_to_end(hash_)
            return text
        if self.only:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_IN_LIST", "this operation is not registered here"
            )
        # Apollo clients look for this message: it makes them send the text once.
        raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")

    def _learn(self, hash_: str, query: str) -> None:
        if hash_ not in self.learned:
            self.learned[hash_] = query
            self._characters += len(query)
        self.learned.move_to_end(hash_)
        while len(self.learned) > KEPT or self._characters > KEPT_CHARACTERS:
            _, dropped = self.learned.popitem(last=False)
            self._characters -= len(dropped)


def _hash_of(asked: object) -> str:
    if not isinstance(asked, Mapping) or asked.get("version") != 1:
        raise PersistedQueryError(
            "BAD_REQUEST", "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}"
        )
    hash_ = asked.get("sha256Hash")
    if not isinstance(hash_, str) or not _HASH.fullmatch(hash_):
        raise PersistedQueryError(
            "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be 64 lowercase hex digits"
        )
    return hash_
