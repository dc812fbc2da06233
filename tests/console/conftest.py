"""Fixtures of the console's browser tests: one Chromium per module (a context per test keeps
them apart), a fresh gateway per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_call_center_story import ANN, BOB, CALL, _tx
from tests.console.support import CY, DI, MIXED_CALL, Api, open_console, served
from tests.support.browser import playwright_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_chromium() as launched:
        yield launched


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Ann (with a card purchase and a call), Bob, and Cy and Di with a call crossing them."""
    crossed = {
        "crm": [ANN, BOB, CY, DI],
        "transactions": [_tx("T-A0", "LD11110001")],
        "call_center": [CALL, MIXED_CALL],
    }
    with served(tmp_path, **crossed) as address:
        yield address


@pytest.fixture
def api(server: str) -> Iterator[Api]:
    api = Api(server)
    yield api
    api.client.close()


@pytest.fixture
def console(browser: Any) -> Iterator[Any]:
    """Opens the console for an address and a key (a context of its own, closed after)."""
    pages: list[Any] = []

    def open_(address: str, key: str, width: int = 1280, height: int = 800) -> Any:
        pages.append(open_console(browser, address, key, width, height))
        return pages[-1]

    yield open_
    for page in pages:
        page.context.close()
