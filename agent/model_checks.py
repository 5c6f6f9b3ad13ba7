"""Rules first, model second, always checked: what the rules can verify about a model's choice (issue 13).

A small model routes a contract question to pricing, or writes "today" for "next Friday". Nothing a model chooses
acts unchecked:

- Routing: the model is asked only where the rules are unsure (`rules_are_sure`), and its route is kept only when
  the user's own words support it (`checked_route`): pricing needs a priced product and a quantity, a task needs a
  customer and a date or a task cue, help needs a short message naming nothing; otherwise the rule route stands.
- Task arguments: a model's tool call is compared field by field with what the rules read from the same words
  (`check_task_arguments`); where the rules read a value, the rule value wins; where they read nothing, the model's
  value is kept but is unverified. Only full agreement keeps the action eligible for auto-execution; anything else
  becomes a pending action for the person to confirm (never a silent override).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from agent.models import Route
from agent.router import is_question, route_by_rules, task_cue_in
from salesbot.roles import role_at_least
from salesbot.settings import get_settings

logger = logging.getLogger(__name__)

# A message that names nothing and is this short may be a greeting or a "what can you do" the rules missed.
_HELP_MAX_CHARS = 40
# A count: digits not glued to a model code (letters then digits) and not a year, e.g. "40 units", "20台", "qty 12".
_QUANTITY = re.compile(r"(?<![A-Za-z\d.\-])(?!(?:19|20)\d\d\b)\d{1,7}(?![\d.%])")
# Where the model's proposal came from, recorded on the action: never "user", so the gate never auto-executes it.
MODEL_UNVERIFIED_ORIGIN = "model"


def rules_are_sure(text: str, rule_route: Route) -> bool:
    """True when the rule route needs no second opinion: any route the rules' cues chose, or a plain question.

    The rules default to knowledge when no cue matches; a message phrased as a question ("…?", "…吗", "what/how…")
    is a question for the documents (or the data route, whose cues the rules read), so only the remaining
    knowledge defaults — commands without a cue, fragments — are worth a model call.
    """
    return rule_route != "knowledge" or is_question(text)


def checked_route(model_route: Route, text: str, role: str) -> tuple[Route, str]:
    """The model's route when the user's words support it, else the rule route; with the reason, for the log."""
    rule_route = route_by_rules(text)
    if model_route == rule_route or model_route == "knowledge":
        return model_route, "agrees with the rules" if model_route == rule_route else "knowledge is always allowed"
    if model_route == "pricing":
        if _names_a_priced_product(text) and _QUANTITY.search(text):
            return "pricing", "a priced product and a quantity are named"
        return rule_route, "pricing needs a priced product and a quantity in the user's words"
    if model_route == "task":
        if _names_a_customer(text) and (task_cue_in(text) or _names_a_date(text)):
            return "task", "a customer and a date or task cue are named"
        return rule_route, "a task needs a customer and a date or a task cue in the user's words"
    if model_route == "data":
        if any(role_at_least(role, allowed) for allowed in get_settings().data_question_roles):
            return "data", "the role may ask data questions"
        return rule_route, "the role may not ask data questions"
    if model_route == "help":
        if len(text.strip()) <= _HELP_MAX_CHARS and not _names_a_customer(text) and not _names_a_priced_product(text):
            return "help", "a short message naming nothing"
        return rule_route, "help is for short messages that name no customer or product"
    return rule_route, f"unknown route {model_route!r}"


@dataclass
class TaskArgumentCheck:
    """The arguments to propose, and whether rules and model agreed on every field the rules could read."""

    args: dict[str, str]
    agreed: bool
    disagreements: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    @property
    def may_auto_execute(self) -> bool:
        return self.agreed and not self.unverified


def check_task_arguments(model_args: dict[str, Any], rule_parse: dict[str, Any] | None,
                         now: datetime | None = None) -> TaskArgumentCheck:
    """Field by field: the rule value wins where the rules read one; the model fills only what they could not.

    `rule_parse` is `tools.sales.task_requests.parse_task_request` of the user's words (None: they name no known
    customer or ask for no task). Customer and due date are compared by meaning (the same registry entity, the
    same local minute); the description is free text the rules also write, so the rules' wording is kept whenever
    they could read the request, which keeps the responsibility list's conditions on the user's words.
    """
    from tools.sales.customers import resolve_customer
    from tools.sales.dates import parse_due

    rules = rule_parse or {}
    args: dict[str, str] = {}
    disagreements: list[str] = []
    unverified: list[str] = []

    model_customer = str(model_args.get("customer") or "").strip()
    if rules.get("customer"):
        args["customer"] = str(rules["customer"])
        model_ref = resolve_customer(model_customer) if model_customer else None
        if model_ref is None or model_ref.key != rules.get("customer_key"):
            disagreements.append("customer")
    else:
        args["customer"] = model_customer
        unverified.append("customer")

    model_due = str(model_args.get("due") or "").strip()
    model_when = _parse_or_none(parse_due, model_due, now)
    if rules.get("due"):
        args["due"] = str(rules["due"])
        rule_when = datetime.fromisoformat(str(rules["due"]))
        if model_when is None or not _same_due(model_when, rule_when):
            disagreements.append("due")
    else:
        args["due"] = model_due
        if model_due:
            unverified.append("due")

    model_description = str(model_args.get("description") or "").strip()
    if rules.get("description"):
        args["description"] = str(rules["description"])
    else:
        args["description"] = model_description
        unverified.append("description")

    if disagreements:
        logger.info("model task arguments disagree with the rules on %s; the rule values are kept and the action "
                    "waits for confirmation", ", ".join(disagreements))
    return TaskArgumentCheck(args=args, agreed=not disagreements, disagreements=disagreements, unverified=unverified)


def _same_due(model_when: datetime, rule_when: datetime) -> bool:
    """Same local minute, or the same day when either side gives no time of day (a date without a time)."""
    if model_when.tzinfo is not None and rule_when.tzinfo is not None:
        model_when = model_when.astimezone(rule_when.tzinfo)
    if model_when.replace(tzinfo=None) == rule_when.replace(tzinfo=None):
        return True
    either_date_only = model_when.time() == time.min or rule_when.time() == time.min
    return either_date_only and model_when.date() == rule_when.date()


def _parse_or_none(parse: Any, value: str, now: datetime | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse(value, now)
    except (ValueError, TypeError, OverflowError):
        return None


def _names_a_customer(text: str) -> bool:
    from tools.sales.customers import find_customer_in_text

    return find_customer_in_text(text) is not None


def _names_a_date(text: str) -> bool:
    from tools.sales.dates import find_due_date

    return find_due_date(text) is not None


def _names_a_priced_product(text: str) -> bool:
    from tools.sales.catalog import PricingError, find_product_in_text

    try:
        return find_product_in_text(text) is not None
    except PricingError as error:  # no pricing policy installed: nothing can be priced, so pricing is unverifiable
        logger.info("no priced products to check a pricing route against: %s", error)
        return False
