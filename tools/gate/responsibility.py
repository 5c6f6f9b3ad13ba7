"""The human/AI responsibility list (responsibility.yaml): who must confirm each kind of write, who may decide.

The YAML is validated when it loads (the pydantic models below, through salesbot.yaml_files): an unknown approver, operator or action kind fails at once with the file, the key and
the problem, instead of surfacing as a wrong approval later.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salesbot.roles import role_at_least
from salesbot.settings import get_settings
from salesbot.yaml_files import ConfigFileError, load_yaml_model
from tools.gate.errors import ActionError, ResponsibilityFileError
from tools.gate.kinds import KINDS

DEFAULT_RESPONSIBILITY_FILE = Path(__file__).resolve().parent / "responsibility.yaml"

Approver = Literal["auto", "confirm", "manager", "vp"]
APPROVERS: tuple[str, ...] = get_args(Approver)
# A rule's approver may also be "whoever the pricing policy's approval band names" (its rep band → confirm).
PRICING_POLICY_APPROVER = "pricing_policy"
RuleApprover = Literal["auto", "confirm", "manager", "vp", "pricing_policy"]
OPERATORS = ("equals", "gt", "gte", "lt", "lte", "in", "not_in", "matches")
_NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte")


def _check_condition(field_name: str, condition: Any) -> None:
    if not isinstance(condition, dict):
        if isinstance(condition, str | int | float | bool):
            return
        raise ValueError(f"{field_name}: use a plain value or {{operator: value}} with one of {', '.join(OPERATORS)}")
    for operator, expected in condition.items():
        if operator not in OPERATORS:
            raise ValueError(f"{field_name}: unknown operator {operator!r}; use one of {', '.join(OPERATORS)}")
        if operator in ("in", "not_in") and not isinstance(expected, list):
            raise ValueError(f"{field_name}: {operator} needs a list, e.g. {{{operator}: [a, b]}}")
        if operator in _NUMERIC_OPERATORS:
            try:
                Decimal(str(expected))
            except InvalidOperation:
                raise ValueError(f"{field_name}: {operator} needs a number, got {expected!r}") from None
        if operator == "matches":
            try:
                re.compile(str(expected))
            except re.error as error:
                raise ValueError(f"{field_name}: matches needs a valid regular expression ({error})") from None


class ResponsibilityRule(BaseModel):
    """One rule: when every condition holds, this approver decides."""

    model_config = ConfigDict(extra="forbid")

    name: str = "unnamed rule"
    when: dict[str, Any] = Field(default_factory=dict)
    approver: RuleApprover

    @field_validator("when", mode="before")
    @classmethod
    def _conditions_are_known(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            for field_name, condition in value.items():
                _check_condition(str(field_name), condition)
        return value


class ResponsibilityList(BaseModel):
    """The whole file: a default approver and, per action kind, rules read top to bottom."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    default_approver: Approver = "confirm"
    actions: dict[str, list[ResponsibilityRule]] = Field(default_factory=dict)

    @field_validator("actions", mode="before")
    @classmethod
    def _empty_rule_lists(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {kind: rules if rules is not None else [] for kind, rules in value.items()}
        return value

    @field_validator("actions")
    @classmethod
    def _kinds_are_known(cls, value: dict[str, list[ResponsibilityRule]]) -> dict[str, list[ResponsibilityRule]]:
        for kind in value:
            if kind not in KINDS:
                raise ValueError(f"unknown action kind {kind!r}; known kinds: {', '.join(KINDS)}")
        return value

    @model_validator(mode="after")
    def _policy_approver_only_where_provided(self) -> ResponsibilityList:
        for kind, rules in self.actions.items():
            provided = KINDS[kind].derived_facts
            for index, rule in enumerate(rules):
                if rule.approver == PRICING_POLICY_APPROVER and "policy_approver" not in provided:
                    raise ValueError(f"actions.{kind}.{index}.approver: {kind} has no pricing policy band; "
                                     f"use one of {', '.join(APPROVERS)}")
        return self


def responsibility_path() -> Path:
    return Path(get_settings().responsibility_file or DEFAULT_RESPONSIBILITY_FILE)


def load_responsibility(path: Path | None = None) -> ResponsibilityList:
    """The validated responsibility list (re-read whenever the file changes, so edits take effect at once)."""
    policy_path = Path(path or responsibility_path())
    if not policy_path.is_file():
        raise ResponsibilityFileError(f"{policy_path}: responsibility file not found "
                                      "(set SALESBOT_RESPONSIBILITY_FILE)")
    try:
        return load_yaml_model(policy_path, ResponsibilityList)
    except ResponsibilityFileError:
        raise
    except ConfigFileError as error:
        raise ResponsibilityFileError(str(error)) from error


def _condition_holds(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return value is not None and str(value).lower() == str(condition).lower()
    for operator, expected in condition.items():
        if operator == "matches":
            if value is None or not re.search(str(expected), str(value), re.IGNORECASE):
                return False
        elif operator in ("in", "not_in"):
            members = {str(item).lower() for item in expected}
            if (value is not None and str(value).lower() in members) != (operator == "in"):
                return False
        elif operator in _NUMERIC_OPERATORS:
            try:
                actual, limit = Decimal(str(value)), Decimal(str(expected))
            except (InvalidOperation, TypeError):
                return False
            comparisons = {"gt": actual > limit, "gte": actual >= limit, "lt": actual < limit, "lte": actual <= limit}
            if not comparisons[operator]:
                return False
        elif operator == "equals":
            if str(value).lower() != str(expected).lower():
                return False
        else:  # unreachable for a loaded file: operators are checked at load
            raise ActionError(f"responsibility rule uses unknown operator {operator!r}")
    return True


def approver_for_policy_band(policy_approver: Any) -> str:
    """The gate approver for a pricing policy band's approver: rep → confirm; manager, vp → themselves."""
    band = str(policy_approver or "").strip().lower()
    if band == "rep":
        return "confirm"
    if band in APPROVERS and band not in ("auto", "confirm"):
        return band
    raise ActionError(f"the pricing policy names approver {policy_approver!r} for this price; "
                      "its approval_levels may use rep, manager or vp")


def required_approver_for(kind: str, facts: dict[str, Any]) -> tuple[str, str]:
    """(approver, rule name) for an action kind given its arguments and derived facts."""
    policy = load_responsibility()
    approver: str = policy.default_approver
    rule_name = "default_approver"
    for rule in policy.actions.get(kind, []):
        if all(_condition_holds(facts.get(field_name), condition) for field_name, condition in rule.when.items()):
            approver, rule_name = rule.approver, rule.name
            break
    if approver == PRICING_POLICY_APPROVER:
        approver = approver_for_policy_band(facts.get("policy_approver"))
        rule_name = f"{rule_name} (pricing policy band: {facts.get('policy_approver')})"
    # Safety net: a request that came out of a document (not typed by a person) always waits for a human.
    if approver == "auto" and facts.get("origin") != "user":
        return "confirm", f"{rule_name} (auto not allowed for origin {facts.get('origin')!r})"
    return approver, rule_name


def may_decide(required_approver: str, proposer_user: str, actor_user: str, actor_role: str) -> bool:
    """confirm/auto: the proposer or anyone at manager level and above; manager/vp: that role or higher."""
    if required_approver in ("auto", "confirm"):
        return actor_user == proposer_user or role_at_least(actor_role, "manager")
    return role_at_least(actor_role, required_approver)
