"""Every coach unit test reads the demo company's catalogue (products, competitors) from samples/ via settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesbot.settings import get_settings, reset_runtime

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.fixture(autouse=True)
def demo_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(SAMPLES / "policy" / "pricing_policy.yaml"))
    monkeypatch.setenv("SALESBOT_ENTITIES_FILE", str(SAMPLES / "entities.yaml"))
    reset_runtime()
    get_settings.cache_clear()
