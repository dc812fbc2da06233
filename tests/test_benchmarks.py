"""The benchmark scripts the documentation cites (README.md, docs/benchmarks.md and its
history) load: a reader who runs the command beside a figure gets the figure, not an
ImportError."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from tests.support import docs

ROOT = Path(__file__).resolve().parents[1]
CITED = sorted(set(re.findall(r"benchmarks/([a-z_]+)\.py", docs.text())))


def test_every_cited_benchmark_is_there() -> None:
    assert CITED and [s for s in CITED if not (ROOT / "benchmarks" / f"{s}.py").is_file()] == []


@pytest.mark.parametrize("script", CITED)
def test_a_cited_benchmark_loads(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Adversarial pass: `python benchmarks/score_pass.py ...`, the README's source for its
    # scoring figure, failed at once with an ImportError (a helper had moved module).
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # (they import each other)
    held = set(sys.modules)
    try:
        module = importlib.import_module(script)
        assert callable(getattr(module, "main", None)), f"{script}.py has no main()"
    finally:  # their names (export, scores, restart) are not to be kept as modules
        own = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
        for name in (set(sys.modules) - held) & own:
            del sys.modules[name]
