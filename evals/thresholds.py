"""Quality thresholds (evals/thresholds.yaml) and baseline comparison: which metrics fail or regressed."""

from __future__ import annotations

from pathlib import Path

import yaml

from evals.models import EvalReport, MetricDelta, ThresholdRule

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
# Smaller is better for these even without a threshold saying so.
LOWER_IS_BETTER_MARKERS = ("errors", "leaks", "false_refusal", "failures", "restricted_chunks", "write_statements",
                           "tables_changed")
# Sizes of the dataset, not quality: reported with deltas but never a regression.
DESCRIPTIVE_MARKERS = (".questions", "_probes", "questions_with")
# A change smaller than this is noise, not a regression (one question of ~60 moves a rate by ~0.017).
REGRESSION_TOLERANCE = 0.005


class ThresholdsError(ValueError):
    """A thresholds file that cannot be read."""


def load_thresholds(path: Path | None = None) -> dict[str, ThresholdRule]:
    thresholds_path = path or THRESHOLDS_FILE
    try:
        data = yaml.safe_load(thresholds_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ThresholdsError(f"cannot read thresholds file {thresholds_path}: {error}") from error
    if not isinstance(data, dict):
        raise ThresholdsError(f"thresholds file {thresholds_path} must map metric names to {{min:, max:}}")
    rules = {}
    for metric_name, bounds in data.items():
        if not isinstance(bounds, dict) or not ({"min", "max"} & bounds.keys()):
            raise ThresholdsError(f"threshold for {metric_name!r} needs min and/or max, got {bounds!r}")
        rules[str(metric_name)] = ThresholdRule.model_validate(bounds)
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
