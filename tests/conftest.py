"""Shared fixtures: every test gets its own SALESBOT_HOME and a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Never reach a hub for model weights, and keep Chroma quiet; set before any test imports them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Shared fakes and fixtures (tiny GGUF, scripted chat models, OpenAI stub server) live in one module.
pytest_plugins = ["tests.fakes"]

TESTS_DIR = Path(__file__).resolve().parent
TESTDATA_DIR = TESTS_DIR / "data"


@pytest.fixture(autouse=True)
def salesbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data directory per test; SALESBOT_* variables from the outer shell are cleared."""
    from salesbot.settings import reset_runtime

    for name in list(os.environ):
        if name.startswith("SALESBOT_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "salesbot-home"
    monkeypatch.setenv("SALESBOT_HOME", str(home))
    reset_runtime()
    yield home
    reset_runtime()
