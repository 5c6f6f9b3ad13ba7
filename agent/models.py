"""Pydantic types that cross the agent boundary: what a connector hands in and what it renders."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.gate.models import ActionView

Channel = Literal["cli", "slack", "wecom", "eval", "mcp"]
Route = Literal["knowledge", "pricing", "task", "data", "help", "decision"]


class TurnRequest(BaseModel):
    """One user message, already parsed by a connector."""

    text: str
    user_id: str = "cli-user"
    role: str = "rep"
    thread_id: str = "default"
    channel: Channel = "cli"


class Citation(BaseModel):
    source: str = Field(description="File name of the cited document.")
    section: str = Field(description="Section path inside the document, e.g. '第5条 质保' or '4.1 Payment'.")
    quote: str = Field(description="The cited sentence(s), verbatim.")


class DataTable(BaseModel):
    """A data answer: the SQL behind it and its result."""

    sql: str
    columns: list[str]
    rows: list[list[Any]]


class ModelCheck(BaseModel):
    """One model call of a turn and what became of its output after the rules checked it."""

    step: Literal["route", "task_arguments", "answer"]
    outcome: Literal["accepted", "rejected", "failed"] = Field(
        description="accepted: the turn used it; rejected: the rules' check turned it down (the rule result stands); "
                    "failed: no usable output (unavailable, out of time, invalid output).")
    detail: str = ""


class TurnResult(BaseModel):
    """What the agent answers; `salesbot ask --json` prints exactly these fields (a stable contract)."""

    answer: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    pending_actions: list[ActionView] = Field(
        default_factory=list, description="Proposed writes waiting for a person (the gate's own views).")
    executed_actions: list[ActionView] = Field(default_factory=list, description="Writes the gate applied.")
    route: str = "knowledge"
    language: str = "en"
    suggestion_id: str | None = None
    table: DataTable | None = None
    chart: str | None = None
    pricing: dict[str, Any] | None = None
    model_checks: list[ModelCheck] = Field(
        default_factory=list, description="Each model call of the turn and its outcome; empty with no model.")
