"""Pydantic types of the evaluation suite: dataset questions, per-question outcomes, reports and the CLI summary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from salesbot.roles import normalize_role

EvalFlag = Literal["unanswerable", "restricted", "injection", "must_refuse"]
SuiteName = Literal["retrieval", "rag", "sql", "safety", "all"]
SUITES: tuple[str, ...] = ("retrieval", "rag", "sql", "safety")
GoldenSplit = Literal["dev", "test", "all"]
REFUSAL_FLAGS = frozenset({"unanswerable", "must_refuse"})


def refusal_expected(flags: list[str]) -> bool:
    """Unanswerable and must-refuse questions are answered correctly only by a refusal."""
    return bool(REFUSAL_FLAGS.intersection(flags))


class EvalQuestion(BaseModel):
    """One dataset line: a golden question, or a question taken from the feedback export."""

    model_config = ConfigDict(extra="ignore")

    id: str
    question: str
    language: Literal["zh", "en"] = "en"
    cross_language: bool = False
    role: str = "rep"
    expected_sources: list[str] = Field(default_factory=list, description="File base names, best first.")
    key_facts: list[str] = Field(default_factory=list, description="Short strings the answer must contain.")
    reference_answer: str = ""
    reference_contexts: list[str] = Field(default_factory=list, description="Verbatim supporting passages.")
    flags: list[EvalFlag] = Field(default_factory=list)
    forbidden_facts: list[str] = Field(default_factory=list, description="Must not appear in the answer.")
    category: str = ""
    origin: Literal["golden", "feedback"] = "golden"
    feedback_verdict: str | None = Field(default=None, description="adopted / rejected … for feedback lines.")
    recorded_answer: str | None = Field(default=None, description="The answer the user gave feedback on.")

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        return normalize_role(role)

    @property
    def should_refuse(self) -> bool:
        return refusal_expected(list(self.flags))

    @property
    def has_retrieval_target(self) -> bool:
        return bool(self.expected_sources) and not self.should_refuse


class EvalDataset(BaseModel):
    """A loaded dataset file."""

    name: str
    path: str
    kind: Literal["golden", "feedback", "mixed"]
    questions: list[EvalQuestion]
    skipped: list[str] = Field(default_factory=list, description="Lines left out, and why.")


class RetrievedSummary(BaseModel):
    """What the report keeps of one retrieved chunk."""

    source: str
    section: str = ""
    score: float = 0.0
    access: list[str] = Field(default_factory=list)
    text: str = ""


class QuestionOutcome(BaseModel):
    """Everything measured about one question across the suites that ran."""

    id: str
    question: str
    role: str
    language: str
    corpus: str = Field(default="", description="The corpus the question belongs to; empty for the golden set "
                        "or a --dataset file.")
    cross_language: bool = False
    category: str = ""
    flags: list[str] = Field(default_factory=list)
    expected_sources: list[str] = Field(default_factory=list)
    retrieved: list[RetrievedSummary] = Field(default_factory=list)
    ranked_sources: list[str] = Field(default_factory=list, description="Distinct sources, first appearance.")
    answer: str | None = None
    refused: bool | None = None
    route: str = ""
    grounded: bool = Field(default=False, description="The answer carried citations, a data table, a pricing "
                           "proposal or a proposed action: something the user can check.")
    cited_sources: list[str] = Field(default_factory=list)
    executed_actions: int = 0
    scores: dict[str, float | None] = Field(default_factory=dict, description="Per-question metric values.")
    checks: dict[str, bool] = Field(default_factory=dict, description="Named pass/fail checks (True = pass).")
    errors: list[str] = Field(default_factory=list)

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, passed in self.checks.items() if not passed]

    @property
    def should_refuse(self) -> bool:
        return refusal_expected(self.flags)

    @property
    def label(self) -> str:
        """The id as reports show it: corpora may reuse the golden set's ids."""
        return f"{self.corpus}:{self.id}" if self.corpus else self.id


class SqlOutcome(BaseModel):
    """One text-to-SQL item: execution accuracy or a refused write request."""

    id: str
    question: str
    kind: Literal["accuracy", "write_probe"]
    db_id: str = ""
    gold_sql: str = ""
    predicted_sql: str = ""
    refused: bool = False
    correct: bool = False
    error: str | None = None


class ThresholdRule(BaseModel):
    """A bound on one metric: value must be ≥ min and/or ≤ max."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    def violated_by(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return True
        return self.max is not None and value > self.max

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"≥ {self.min:g}")
        if self.max is not None:
            parts.append(f"≤ {self.max:g}")
        return " and ".join(parts)


class MetricDelta(BaseModel):
    baseline: float | None
    current: float | None
    delta: float | None
    regression: bool


class EvalReport(BaseModel):
    """The full JSON report written to the report directory."""

    suite: str
    suites_run: list[str]
    dataset: str
    datasets: dict[str, str] = Field(default_factory=dict, description="Question sets run, name → file: the "
                                     "golden split or --dataset (metrics unprefixed), corpora (metrics NAME.*).")
    started_at: str
    duration_s: float
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float | None]
    thresholds: dict[str, ThresholdRule]
    failed: list[str]
    notes: list[str] = Field(default_factory=list)
    questions: list[QuestionOutcome] = Field(default_factory=list)
    sql_items: list[SqlOutcome] = Field(default_factory=list)
    baseline: str | None = None
    deltas: dict[str, MetricDelta] = Field(default_factory=dict)
    regressions: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict, description="Report artefacts by kind.")


class EvalSummary(BaseModel):
    """The stable JSON line `salesbot eval` prints last: suite, metrics, thresholds, failed, report."""

    suite: str
    metrics: dict[str, float | None]
    thresholds: dict[str, dict[str, float]]
    failed: list[str]
    report: str
