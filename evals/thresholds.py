"""Quality thresholds (evals/thresholds.yaml) and baseline comparison: which metrics fail or regressed."""

from __future__ import annotations

from pathlib import Path

from pydantic import RootModel

from evals.models import EvalReport, MetricDelta, ThresholdRule
from salesbot.yaml_files import ConfigFileError, load_yaml_model

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
# Smaller is better for these even without a threshold saying so.
# ".answerable_refused" with its dot: ".unanswerable_refused_rate" is higher-is-better.
LOWER_IS_BETTER_MARKERS = ("errors", "leaks", "false_refusal", "failures", "restricted_chunks", "write_statements",
                           "tables_changed", "empty_answers", ".answerable_refused")
# Sizes, not quality: reported with deltas but never a regression (a longer answer is not worse by itself;
# a threshold may still bound it).
DESCRIPTIVE_MARKERS = (".questions", "_probes", "questions_with", "answer_chars")
# A change smaller than this is noise, not a regression (one question of ~60 moves a rate by ~0.017).
REGRESSION_TOLERANCE = 0.005


class ThresholdsError(ValueError):
    """A thresholds file that cannot be read."""


class ThresholdsFile(RootModel[dict[str, ThresholdRule]]):
    """evals/thresholds.yaml: metric name → {min:, max:}."""


def load_thresholds(path: Path | None = None) -> dict[str, ThresholdRule]:
    thresholds_path = path or THRESHOLDS_FILE
    try:
        rules = dict(load_yaml_model(thresholds_path, ThresholdsFile).root)
    except ConfigFileError as error:
        raise ThresholdsError(f"cannot read thresholds file: {error}") from error
    for metric_name, rule in rules.items():
        if rule.min is None and rule.max is None:
            raise ThresholdsError(f"{thresholds_path}: {metric_name}: needs min and/or max")
    return rules


def failed_metrics(metrics: dict[str, float | None], thresholds: dict[str, ThresholdRule]) -> list[str]:
    """Names of computed metrics outside their bounds, in thresholds-file order."""
    return [name for name, rule in thresholds.items() if name in metrics and rule.violated_by(metrics[name])]


def lower_is_better(metric_name: str, rule: ThresholdRule | None) -> bool:
    if rule is not None and (rule.max is not None) != (rule.min is not None):
        return rule.max is not None
    return any(marker in metric_name for marker in LOWER_IS_BETTER_MARKERS)


def compare_with_baseline(report: EvalReport, baseline: EvalReport) -> None:
    """Fill report.deltas and report.regressions from a previous report of the same kind."""
    for name, current in report.metrics.items():
        if name not in baseline.metrics:
            continue
        previous = baseline.metrics[name]
        delta = None if current is None or previous is None else current - previous
        worse = False
        if delta is not None and not any(marker in name for marker in DESCRIPTIVE_MARKERS):
            worse = (delta > REGRESSION_TOLERANCE if lower_is_better(name, report.thresholds.get(name))
                     else delta < -REGRESSION_TOLERANCE)
        report.deltas[name] = MetricDelta(baseline=previous, current=current, delta=delta, regression=worse)
        if worse:
            report.regressions.append(name)
