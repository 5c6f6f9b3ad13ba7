"""`salesbot eval [retrieval|rag|sql|safety|coach|all]`: run the evaluation suites on the golden split, the corpora
and the labelled conversations, write reports, gate on thresholds."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

logger = logging.getLogger(__name__)

SUITE_CHOICES = ("retrieval", "rag", "sql", "safety", "coach", "all")
SPLIT_CHOICES = ("dev", "test", "all")


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def evaluate_command(
        suite: str = typer.Argument("all", help="retrieval | rag | sql | safety | coach | all (all includes "
                                    "coach on the test conversations)"),
        dataset: Path | None = typer.Option(None, "--dataset", help="A golden-format or feedback-export JSONL "
                                            "file, instead of the golden split."),
        split: str | None = typer.Option(None, "--split", help="Golden split: test (default; CI and README "
                                         "figures), dev (may be read while tuning) or all. Left out when "
                                         "--corpus is given without --split. For coach: the conversation "
                                         "split (evals/datasets/conversations/)."),
        corpus: list[str] | None = typer.Option(None, "--corpus", help="Run on evals/corpora/NAME (or a corpus "
                                                "folder path); repeatable; `all` = every gated corpus (dev corpora, "
                                                "`dev: true` in corpus.yaml, only when named). Default: every gated "
                                                "corpus for suite all, none otherwise. Metrics: NAME.METRIC."),
        report: Path | None = typer.Option(None, "--report", help="Directory for report.json, report.md and "
                                           "plots (default: SALESBOT_HOME/reports/SUITE-TIME)."),
        judge: str | None = typer.Option(None, "--judge", help="LLM judge for faithfulness / relevancy / "
                                         "factual correctness: llamacpp:/path.gguf or openai:URL#model."),
        baseline: Path | None = typer.Option(None, "--baseline", help="A previous report.json: show deltas "
                                             "and mark regressions."),
        judge_limit: int = typer.Option(10, "--judge-limit", min=1, help="Questions the judge scores."),
        k: int = typer.Option(10, "--k", min=1, help="Passages retrieved per question (hit@k, nDCG@k)."),
        sql_limit: int | None = typer.Option(None, "--sql-limit", min=1, help="Only the first N SQL items."),
        thresholds: Path | None = typer.Option(None, "--thresholds", help="Thresholds YAML "
                                               "(default: evals/thresholds.yaml)."),
    ) -> None:
        """Evaluate retrieval, answers (ragas), text-to-SQL and safety; exit 1 when a metric misses its threshold.

        The last line on stdout is a JSON summary: {"suite", "metrics", "thresholds", "failed", "report"}.
        """
        from rich.console import Console

        from evals.judge import JudgeUnavailableError
        from evals.loading import DatasetError
        from evals.report import default_report_dir, summary_of, write_report
        from evals.runner import EvalOptions, run_evaluation
        from evals.thresholds import ThresholdsError

        console = Console(stderr=True)
        if suite not in SUITE_CHOICES:
            console.print(f"[red]unknown suite {suite!r}[/red]; choose one of {', '.join(SUITE_CHOICES)}")
            raise typer.Exit(2)
        if split is not None and split not in SPLIT_CHOICES:
            console.print(f"[red]unknown split {split!r}[/red]; choose one of {', '.join(SPLIT_CHOICES)}")
            raise typer.Exit(2)
        if split is not None and dataset is not None:
            console.print("[red]--split chooses the golden split and --dataset replaces it: give one of them[/red]")
            raise typer.Exit(2)
        if baseline is not None and not baseline.is_file():
            console.print(f"[red]baseline report not found:[/red] {baseline}")
            raise typer.Exit(2)
        options = EvalOptions(
            suite=suite, dataset_path=dataset, split=split, corpora=corpus or None, k=k, judge=judge,
            judge_limit=judge_limit,
            thresholds_path=thresholds, baseline_path=baseline, sql_limit=sql_limit,
            progress=lambda message: console.print(f"[dim]eval: {message}[/dim]"),
        )
        try:
            result = run_evaluation(options)
        except (DatasetError, ThresholdsError, JudgeUnavailableError) as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from error
        except Exception as error:
            # Users get one actionable line; the traceback goes to the log.
            logger.exception("evaluation crashed")
            console.print(f"[red]evaluation failed: {type(error).__name__}: {error}[/red]")
            raise typer.Exit(2) from error
        report_path = write_report(result, report or default_report_dir(suite))
        _print_human_summary(console, result)
        console.print(f"report: {report_path.parent / 'report.md'}")
        typer.echo(summary_of(result, report_path).model_dump_json())
        if result.failed:
            raise typer.Exit(1)


def _print_human_summary(console, report) -> None:
    from rich.table import Table

    from evals.report import HEADLINE_METRICS, format_metric, headline_rows, is_count_metric

    table = Table(title=f"salesbot eval {report.suite}", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("threshold")
    table.add_column("status")
    for name, value in report.metrics.items():
        rule = report.thresholds.get(name)
        status = "[red]FAIL[/red]" if name in report.failed else ("" if not rule else "ok" if value is not None
                                                                  else "n/a")
        shown = "—" if value is None else (f"{value:.0f}" if is_count_metric(name) else f"{value:.3f}")
        delta = report.deltas.get(name)
        if delta is not None and delta.delta is not None:
            shown += f" ({delta.delta:+.3f}{' ⚠' if delta.regression else ''})"
        table.add_row(name, shown, rule.describe() if rule else "", status)
    console.print(table)
    headline = Table(title="headline figures per question set")
    headline.add_column("set")
    for column in HEADLINE_METRICS:
        headline.add_column(column, justify="right")
    for name, values in headline_rows(report):
        headline.add_row(name, *(format_metric(HEADLINE_METRICS[column], value) for column, value in values.items()))
    if headline.rows:
        console.print(headline)
    for note in report.notes:
        console.print(f"[dim]note: {note}[/dim]")
