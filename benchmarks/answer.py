"""Answer benchmark: p50/p95 `ask` latency in a warm process (no LLM) and cold CLI start times.

Run: .venv/bin/python -m benchmarks.answer [--questions 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"], help="Golden split asked.")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="salesbot-bench-answer-"))
    os.environ["SALESBOT_HOME"] = str(home)
    os.environ["SALESBOT_LLM"] = "none"

    from agent.models import TurnRequest
    from agent.service import answer_turn
    from evals.loading import load_golden_split
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR, reset_runtime
    from tools.sales.seed import install_demo_pricing_policy, seed_sample_company

    reset_runtime()
    install_demo_pricing_policy()  # the product has no default policy of its own
    ingest_paths([SAMPLES_DIR])
    seed_sample_company()
    golden = load_golden_split(args.split)
    questions = [(question.question, question.role) for question in golden.questions][: args.questions]
    answer_turn(TurnRequest(text=questions[0][0], thread_id="warmup"))  # loads models, builds indexes
    timings = []
    for number, (question, role) in enumerate(questions):
        started = time.perf_counter()
        answer_turn(TurnRequest(text=question, role=role, thread_id=f"bench-{number}", channel="eval"))
        timings.append((time.perf_counter() - started) * 1000)
    print(f"warm ask latency (no LLM, {len(timings)} questions of {golden.name}, new thread each): "
          f"p50 {statistics.median(timings):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms, "
          f"max {max(timings):.0f} ms")

    env = {**os.environ, "SALESBOT_HOME": str(home)}
    cli = [sys.executable, "-m", "connectors.cli"]
    for label, command in (("salesbot --help", [*cli, "--help"]),
                           ("salesbot ask (cold process)", [*cli, "ask", "华东人民医院的X3质保期是多久？", "--json"])):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True, cwd=ROOT)
            runs.append(time.perf_counter() - started)
        print(f"cold start, {label}: median {statistics.median(runs):.2f} s over 3 runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
