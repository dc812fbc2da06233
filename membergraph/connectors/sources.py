"""What each source kind is: its line model, its file name and the field that is its id."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)

__all__ = ["SOURCES", "SourceSpec"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source kind: ``crm.jsonl`` holds :class:`CrmContact` lines keyed by ``contact_id``."""

    name: SourceName
    model: type[BaseModel]
    id_field: str

    @property
    def file_name(self) -> str:
        return f"{self.name.value}.jsonl"


SOURCES: dict[SourceName, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(SourceName.CRM, CrmContact, "contact_id"),
        SourceSpec(SourceName.TRANSACTIONS, Transaction, "transaction_id"),
        SourceSpec(SourceName.WEB_ANALYTICS, WebEvent, "event_id"),
        SourceSpec(SourceName.CALL_CENTER, CallInteraction, "interaction_id"),
    )
}
