"""Write an evaluation report: report.json, report.md, a metric bar chart and a per-question failure heat map."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evals.models import EvalReport, EvalSummary, QuestionOutcome

WORST_QUESTIONS = 12
HEATMAP_MAX_ROWS = 40
# One row per question set (golden split, each corpus): the figures issue 18 asks every set to show.
HEADLINE_METRICS = {
    "hit@1": "retrieval.hit@1", "hit@3": "retrieval.hit@3", "cross hit@1": "retrieval.cross_language.hit@1",
    "key facts": "rag.key_fact_coverage", "key facts ≤700": "rag.key_fact_coverage_700",
    "answerable refused": "rag.answerable_refused_rate", "unanswerable refused": "rag.unanswerable_refused_rate",
    "refusal P": "rag.refusal_precision", "refusal R": "rag.refusal_recall",
    "median chars": "rag.answer_chars.median", "max chars": "rag.answer_chars.max", "empty": "rag.empty_answers",
}


def default_report_dir(suite: str) -> Path:
    from salesbot.settings import get_settings

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return get_settings().home_dir / "reports" / f"{suite}-{stamp}"


def write_report(report: EvalReport, directory: Path) -> Path:
    """Write every artefact into `directory`; returns the path of report.json."""
    directory.mkdir(parents=True, exist_ok=True)
    report.files = {"json": str(directory / "report.json"), "markdown": str(directory / "report.md")}
    metrics_plot = plot_metric_bars(report, directory / "metrics.png")
    if metrics_plot:
        report.files["metrics_plot"] = str(metrics_plot)
    heatmap = plot_failure_heatmap(report, directory / "failures_heatmap.png")
    if heatmap:
        report.files["failures_heatmap"] = str(heatmap)
    (directory / "report.md").write_text(render_markdown(report), encoding="utf-8")
    json_path = directory / "report.json"
    json_path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return json_path


def summary_of(report: EvalReport, report_path: Path) -> EvalSummary:
    return EvalSummary(
        suite=report.suite, metrics=report.metrics,
        thresholds={name: rule.model_dump(exclude_none=True) for name, rule in report.thresholds.items()},
        failed=report.failed, report=str(report_path),
    )


def headline_rows(report: EvalReport) -> list[tuple[str, dict[str, float | None]]]:
    """(question set, {column: value}) for each set that produced any headline figure."""
    rows = []
    for name in report.datasets or {"": ""}:
        prefix = f"{name}." if any(metric.startswith(f"{name}.") for metric in report.metrics) else ""
        values = {column: report.metrics.get(prefix + metric) for column, metric in HEADLINE_METRICS.items()}
        if any(value is not None for value in values.values()):
            rows.append((name or "dataset", values))
    return rows


def format_metric(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if is_count_metric(name) else f"{value:.3f}"


# ---- plots (matplotlib Agg: no display, imported only when writing) ----


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _rate_metrics(report: EvalReport) -> dict[str, float]:
    """Metrics on a 0–1 scale (rates and scores), the ones a bar chart can show side by side."""
    return {name: value for name, value in report.metrics.items()
            if value is not None and not is_count_metric(name)}


def plot_metric_bars(report: EvalReport, path: Path) -> Path | None:
    rates = _rate_metrics(report)
    if not rates:
        return None
    pyplot = _pyplot()
    names = list(rates)
    figure, axes = pyplot.subplots(figsize=(10, max(3.0, 0.28 * len(names) + 1)))
    colors = ["#c0392b" if name in report.failed else "#2e86c1" for name in names]
    axes.barh(names, [rates[name] for name in names], color=colors)
    for index, name in enumerate(names):  # the value as text, so a zero bar is still readable
        axes.text(min(rates[name], 1.0) + 0.01, index, f"{rates[name]:.2f}", va="center", fontsize=6,
                  color=colors[index])
    for index, name in enumerate(names):
        rule = report.thresholds.get(name)
        bound = None if rule is None else (rule.min if rule.min is not None else rule.max)
        if bound is not None:
            axes.plot([bound, bound], [index - 0.4, index + 0.4], color="black", linewidth=1.5)
    axes.set_xlim(0, 1.1)
    axes.invert_yaxis()
    axes.set_xlabel("score (black tick = threshold, red = below threshold)")
    axes.set_title(f"salesbot eval {report.suite} — {report.started_at}")
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def plot_failure_heatmap(report: EvalReport, path: Path) -> Path | None:
    """Rows: questions with a failed check (worst first); columns: checks; red = failed, grey = not applicable."""
    failing = _worst(report.questions, HEATMAP_MAX_ROWS)
    if not failing:
        return None
    import numpy as np

    pyplot = _pyplot()
    check_names = sorted({name for outcome in report.questions for name in outcome.checks})
    grid = np.full((len(failing), len(check_names)), np.nan)
    for row, outcome in enumerate(failing):
        for column, name in enumerate(check_names):
            if name in outcome.checks:
                grid[row, column] = 0.0 if outcome.checks[name] else 1.0
    from matplotlib.colors import ListedColormap

    colormap = ListedColormap(["#d5f5e3", "#c0392b"]).with_extremes(bad="#e5e7e9")
    figure, axes = pyplot.subplots(figsize=(max(6.0, 0.55 * len(check_names) + 3), max(3.0, 0.25 * len(failing) + 2)))
    axes.imshow(np.ma.masked_invalid(grid), cmap=colormap, vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(check_names)), check_names, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(failing)), [outcome.label for outcome in failing], fontsize=7)
    axes.set_title("failed checks per question (red = failed, green = passed, grey = not applicable)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


# ---- markdown ----


def _worst(outcomes: list[QuestionOutcome], limit: int) -> list[QuestionOutcome]:
    failing = [outcome for outcome in outcomes if outcome.failed_checks or outcome.errors]

    def badness(outcome: QuestionOutcome) -> tuple[int, float]:
        scores = [value for value in outcome.scores.values() if value is not None and 0 <= value <= 1]
        return (len(outcome.failed_checks) + len(outcome.errors), -(sum(scores) / len(scores) if scores else 0))

    return sorted(failing, key=badness, reverse=True)[:limit]


COUNT_MARKERS = (".questions", "probes", "leaks", "errors", "_failures", "_retrieved", "_statements", "_changed",
                 "questions_with", "answer_chars", "empty_answers")


def is_count_metric(name: str) -> bool:
    """Counts (leaks, errors, questions…) as opposed to rates and scores on a 0–1 scale."""
    return any(marker in name for marker in COUNT_MARKERS)


def _cell(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_markdown(report: EvalReport) -> str:
    status = "FAILED" if report.failed else "passed"
    lines = [
        f"# salesbot eval {report.suite}: {status}",
        "",
        f"- started {report.started_at}, {report.duration_s:.1f} s; suites: {', '.join(report.suites_run)}",
        f"- question sets: {', '.join(f'{name} (`{path}`)' for name, path in report.datasets.items()) or '—'}",
        f"- config: {', '.join(f'{key}={value}' for key, value in report.config.items())}",
    ]
    if report.baseline:
        lines.append(f"- baseline: `{report.baseline}` ({len(report.regressions)} regression(s))")
    headline = headline_rows(report)
    if headline:
        lines += ["", "## Headline figures", "", "| set | " + " | ".join(HEADLINE_METRICS) + " |",
                  "|---|" + "---:|" * len(HEADLINE_METRICS)]
        lines += [f"| {name} | " + " | ".join(format_metric(HEADLINE_METRICS[column], value)
                                               for column, value in values.items()) + " |"
                  for name, values in headline]
    lines += ["", "## Metrics", ""]
    header = "| metric | value | threshold | status |"
    separator = "|---|---:|---|---|"
    if report.baseline:
        header += " Δ baseline |"
        separator += "---:|"
    lines += [header, separator]
    for name, value in report.metrics.items():
        rule = report.thresholds.get(name)
        state = "**FAIL**" if name in report.failed else ("" if not rule else "ok" if value is not None else "n/a")
        row = f"| {name} | {format_metric(name, value)} | {rule.describe() if rule else ''} | {state} |"
        if report.baseline:
            delta = report.deltas.get(name)
            if delta is None or delta.delta is None:
                row += " — |"
            else:
                mark = " ⚠ regression" if delta.regression else ""
                row += f" {delta.delta:+.3f}{mark} |"
        lines.append(row)
    if report.files.get("metrics_plot"):
        lines += ["", "![metrics](metrics.png)"]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(note, 400)}" for note in report.notes]
    worst = _worst(report.questions, WORST_QUESTIONS)
    if worst:
        lines += ["", "## Worst questions", "",
                  "| id | role | question | expected | retrieved (top 3) | answer | failed checks |",
                  "|---|---|---|---|---|---|---|"]
        for outcome in worst:
            answer = "(refused) " if outcome.refused else ""
            answer += outcome.answer or "(no answer)"
            lines.append(
                f"| {outcome.label} | {outcome.role} | {_cell(outcome.question, 80)} | "
                f"{_cell(', '.join(outcome.expected_sources) or '—', 60)} | "
                f"{_cell(', '.join(outcome.ranked_sources[:3]) or '—', 80)} | {_cell(answer, 160)} | "
                f"{_cell(', '.join(outcome.failed_checks + outcome.errors), 160)} |")
    if report.files.get("failures_heatmap"):
        lines += ["", "![failures heat map](failures_heatmap.png)"]
    wrong_sql = [item for item in report.sql_items if not item.correct][:WORST_QUESTIONS]
    if wrong_sql:
        lines += ["", "## SQL items not passed", "", "| id | question | predicted SQL | gold SQL | why |",
                  "|---|---|---|---|---|"]
        for item in wrong_sql:
            why = item.error or ("not refused" if item.kind == "write_probe" else "result differs from gold")
            gold = f"`{_cell(item.gold_sql, 120)}`" if item.gold_sql else "—"
            lines.append(f"| {item.id} | {_cell(item.question, 90)} | `{_cell(item.predicted_sql or '—', 120)}` | "
                         f"{gold} | {_cell(why, 120)} |")
    return "\n".join(lines) + "\n"
