"""What every request, push and background task of a gateway shares: :class:`Gateway`,
assembled by :mod:`membergraph.gateway` (from settings) and read by the resolvers, the
ingestion service, the metrics keeper and the privacy services alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from membergraph.connectors.base import Connector
from membergraph.connectors.models import SourceName
from membergraph.identity.feed import FeedFollower
from membergraph.identity.service import IdentityService
from membergraph.identity.steward_suggestions import ScoredPairs
from membergraph.settings import Settings

if TYPE_CHECKING:
    from membergraph.privacy import Privacy
    from membergraph.resolvers.member_cursors import CursorSeal
    from membergraph.resolvers.store_keys import StoreKeys
    from membergraph.scores import MetricsKeeper

__all__ = ["Gateway"]


@dataclass
class Gateway:
    """What every request shares: settings, the identity service and the sources."""

    settings: Settings
    identity: IdentityService
    sources: Mapping[SourceName, Connector[Any]]
    feed: FeedFollower | None = None
    """Follows the store's change feed (started by the app's lifespan): subscriptions and
    caches hear every change made through any process."""
    privacy: Privacy | None = None
    """Consent facts, suppressions, privacy requests and the audit (``privacy_of``)."""
    folder: Path | None = None
    """The data folder the embedded store was loaded from (an erasure compacts it too)."""
    scores: MetricsKeeper | None = None
    """Keeps the members' metrics in the store, following the feed (``scores.py``)."""
    scored_pairs: ScoredPairs | None = None
    """The match suggestions' scored contact pairs, kept while the feed says the contacts
    are unchanged (``steward_suggestions.ScoredPairs``)."""
    stale_rules: str | None = None
    """What to say while the store holds members resolved under other rules than those in
    effect, with the command that applies them (None: resolved under these)."""
    stale_sources: str | None = None
    """Why MongoDB source collections hold lines the store was not resolved from, while
    they do (``reresolve.sources_notice`` says it with the command that resolves them;
    None: the store was resolved from all they hold)."""
    cursor_seal: CursorSeal | None = None
    """Seals the feed cursors of tokens bound to one member (``member_cursors``; made at
    first use from the store's own secret)."""
    store_keys: StoreKeys | None = None
    """Makes refs and list cursors' tags (``resolvers.store_keys``; made at first use from
    the store's own secret)."""
    synced: Mapping[SourceName, Connector[Any]] = field(default_factory=dict)
    """For each source read over HTTP, the store's copy of the lines ``membergraph sync`` took
    from it (``SourceSet.held``): an erasure deletes from it too."""
    unloaded: Callable[[], Awaitable[None]] | None = None
    """The data folder's load the start could not write for want of room (a full disk),
    done once room is made (``full_start.finish_when_room``); None: nothing left."""
    first_load_cut: Path | None = None
    """The folder whose first load into the store a full disk cut at start, or a stopped
    ``membergraph load`` left (``first_load_stopped``): finished only by a load or start
    (a load holds the store's file alone), so the gateway is not ready and takes no push
    or change until it is restarted after it (``full_start``); None: none."""
    first_load_stopped: bool = False
    """``first_load_cut`` is a first load stopped outside the gateway (a ``membergraph
    load`` killed part-way), finished by that load run again, then a restart."""
    loaded_nobodys: Counter[str] = field(default_factory=Counter)
    """The lines the start's load of the folder read that identify no one, by reason
    (``membergraph load`` says them; none when it read no file)."""
    waiting_for_room: bool = False
    """The start left work for want of room (the folder's load, pushes a stopped process
    left): not ready until ``full_start.finish_when_room`` has done it."""
