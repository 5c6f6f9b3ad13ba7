"""Print coach mode's time from the end of the input to the proposed tasks (rules, no model) per fixture."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.setdefault("SALESBOT_HOME", tempfile.mkdtemp(prefix="salesbot-coach-bench-"))
    os.environ.setdefault("SALESBOT_PRICING_POLICY_FILE", str(ROOT / "samples" / "policy" / "pricing_policy.yaml"))
    os.environ.setdefault("SALESBOT_ENTITIES_FILE", str(ROOT / "samples" / "entities.yaml"))
    from tools.coach import coach_path

    for path in sorted((ROOT / "tests" / "data" / "coach").iterdir()):
        timings = []
        for _run in range(5):
            started = time.perf_counter()
            report = coach_path(path)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{path.name}: median {statistics.median(timings):.0f} ms, first {timings[0]:.0f} ms "
              f"(goal < 3000 ms), {len(report.pending_actions) + len(report.executed_actions)} actions")


if __name__ == "__main__":
    main()
