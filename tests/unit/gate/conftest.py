"""Gate tests price quotes: make sure the demo company's pricing policy is configured."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def sample_pricing_policy(salesbot_home, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from salesbot.settings import SAMPLES_DIR, reset_runtime

    if not os.environ.get("SALESBOT_PRICING_POLICY_FILE"):
        monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(SAMPLES_DIR / "policy" / "pricing_policy.yaml"))
        reset_runtime()
