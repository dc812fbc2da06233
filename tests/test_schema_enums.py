"""Each schema enum names exactly the values its source model allows: a value the model
admits and the enum lacks would fail every answer that carries it."""

from __future__ import annotations

from enum import Enum
from typing import get_args

import pytest
from pydantic import BaseModel

from membergraph.connectors.models import AccountRef, SourceName, Transaction, WebEvent
from membergraph.schema.enums import (
    AccountKind,
    PurchaseChannel,
    Source,
    TransactionStatus,
    WebEventType,
)


def _allowed(model: type[BaseModel], field: str) -> set[str]:
    annotation = model.model_fields[field].annotation
    return set(get_args(annotation))


@pytest.mark.parametrize(
    ("enum", "allowed"),
    [
        pytest.param(Source, {s.value for s in SourceName}, id="source"),
        pytest.param(TransactionStatus, _allowed(Transaction, "status"), id="status"),
        pytest.param(PurchaseChannel, _allowed(Transaction, "channel"), id="channel"),
        pytest.param(WebEventType, _allowed(WebEvent, "type"), id="web-type"),
        pytest.param(AccountKind, _allowed(AccountRef, "kind"), id="account-kind"),
    ],
)
def test_a_schema_enum_holds_every_value_its_model_allows(
    enum: type[Enum], allowed: set[str]
) -> None:
    assert allowed, "the model's field is not a fixed set any more"
    assert {member.value for member in enum} == allowed
