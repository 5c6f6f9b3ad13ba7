"""Write tools the agent binds (each only *proposes*; a person confirms) and the no-LLM task-request parser."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tools.actions import propose_action
from tools.customers import find_customer_in_text
from tools.dates import find_due_date, format_due
from tools.models import (
    ActionContext,
    ActionView,
    FollowUpTaskInput,
    OpportunityCardInput,
    QuoteApprovalInput,
    StageUpdateInput,
)


def _propose(kind: str, args: dict[str, Any], context: ActionContext | None) -> ActionView:
    context = context or ActionContext()
    return propose_action(kind, args, proposer_user=context.user_id, proposer_role=context.role,
                          thread_id=context.thread_id, sources=context.sources, origin=context.origin,
                          request_text=context.request_text)


def create_follow_up_task(customer: str, due: str, description: str, *,
                          context: ActionContext | None = None) -> ActionView:
    """Propose a follow-up task (call, visit, send a document) for a customer at a due time.

    Use when the user asks to schedule, remind or follow up, e.g. "给华东人民医院下周三安排一次回访".
    `due` may be an ISO datetime or the user's own words (下周三, 明天下午3点, next Friday, in 3 days).
    Nothing is written yet: the task waits for the user's confirmation; tell them its id and due date.
    """
    return _propose("create_follow_up_task", {"customer": customer, "due": due, "description": description}, context)


def log_opportunity_card(customer: str, stage: str | None = None, product: str | None = None,
                         objections: list[str] | None = None, competitor: str | None = None,
                         budget: int | None = None, amount: int | None = None, next_step: str | None = None, *,
                         context: ActionContext | None = None) -> ActionView:
    """Propose logging an opportunity card (customer, stage, objections, competitor, budget, next step).

    Use after the user pastes a chat, email or call transcript, or describes a deal. Nothing is written
    until the user confirms.
    """
    args = {"customer": customer, "stage": stage, "product": product, "objections": objections or [],
            "competitor": competitor, "budget": budget, "amount": amount, "next_step": next_step}
    return _propose("log_opportunity_card", args, context)


def update_opportunity_stage(customer: str, stage: str, note: str | None = None, *,
                             context: ActionContext | None = None) -> ActionView:
    """Propose moving the customer's open opportunity to a new stage.

    Stages: prospecting, qualification, proposal, negotiation, closed_won, closed_lost. Closing (won or
    lost) needs a manager's approval; other changes need the user's confirmation.
    """
    return _propose("update_opportunity_stage", {"customer": customer, "stage": stage, "note": note}, context)


def submit_quote_for_approval(customer: str, product: str, quantity: int, unit_price: str,
                              strategy: str | None = None, suggestion_id: str | None = None, *,
                              context: ActionContext | None = None) -> ActionView:
    """Propose submitting a quote (customer, product, quantity, unit price) for approval.

    The discount decides who approves (policy bands: above 8% a manager, above 15% a VP). Use the unit
    price of a strategy from the pricing tool; a price below policy is refused.
    """
    args = {"customer": customer, "product": product, "quantity": quantity, "unit_price": unit_price,
            "strategy": strategy, "suggestion_id": suggestion_id}
    return _propose("submit_quote_for_approval", args, context)


# The functions the agent may call, with the input schema the model fills in (context is added by the graph).
TOOL_SPECS: list[tuple[Callable[..., ActionView], type]] = [
    (create_follow_up_task, FollowUpTaskInput),
    (log_opportunity_card, OpportunityCardInput),
    (update_opportunity_stage, StageUpdateInput),
    (submit_quote_for_approval, QuoteApprovalInput),
]


def action_tools(context: ActionContext) -> list[Any]:
    """LangChain tools for one turn: the model supplies the arguments, the graph supplies who/where."""
    from langchain_core.tools import StructuredTool

    def bind(function: Callable[..., ActionView]) -> Callable[..., dict[str, Any]]:
        def call(**kwargs: Any) -> dict[str, Any]:
            return function(**kwargs, context=context).model_dump(mode="json")

        return call

    return [
        StructuredTool.from_function(func=bind(function), name=function.__name__,
                                     description=(function.__doc__ or "").strip(), args_schema=schema)
        for function, schema in TOOL_SPECS
    ]


# ---------------------------------------------------------------- no-LLM parser

_TASK_INTENT_RE = re.compile(
    r"安排|回访|跟进|提醒|拜访|联系|打电话|电话|预约|约[见谈]|开会|会议|发送|发给|发(?:报价|方案|资料|邮件)|寄|"
    r"\b(?:schedule|remind|follow[- ]?up|call|meet|meeting|visit|set up|book|send|email|check in)\b",
    re.IGNORECASE,
)
_CUSTOMER_PARTICLES_RE = re.compile(r"(?:给|为|和|跟|与|对|帮|去|到)\s*$|\b(?:with|to|for|at|on|visit)\s*$", re.I)
_ZH_LEADING_RE = re.compile(r"^(?:请|麻烦|帮我|帮忙|我要|我想|提醒我|记得|给我)+")
_ZH_ARRANGE_RE = re.compile(r"^(?:安排|约)(?:一次|一个|一下|个|次)?(?=\S)")
_EN_LEADING_RE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|i need to\s+|remind me\s+(?:to\s+)?|"
    r"(?:schedule|set up|book|arrange)\s+(?:an?\s+|the\s+)?)+", re.I)
_DANGLING_RE = re.compile(r"^(?:to|and|for|with|on|at)\s+|\s+(?:to|and|for|with|on|at)$", re.I)


def parse_task_request(text: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Turn a follow-up request into {customer, customer_key, due, due_display, description} without an LLM.

    `customer` is the canonical (Chinese) name; `customer_display` is the name in the request's language.
    Returns None unless the text asks for a task and names a known customer. `due` is an ISO datetime in
    the configured timezone, or None when the text gives no date (ask the user, don't guess).
    """
    if not text or not _TASK_INTENT_RE.search(text):
        return None
    found_customer = find_customer_in_text(text)
    if found_customer is None:
        return None
    customer, customer_start, customer_end = found_customer
    date_match = find_due_date(text, now)
    spans = [(customer_start, customer_end)]
    if date_match is not None:
        spans.append((date_match.start, date_match.end))
    chinese = bool(re.search(r"[\u4e00-\u9fff]", _without_spans(text, spans)))
    description = _describe(text, spans, chinese) or ("回访" if chinese else "follow-up")
    language = "zh" if chinese else "en"
    return {
        "customer": customer.name_zh,
        "customer_key": customer.key,
        "customer_display": customer.name_zh if chinese else customer.name_en,
        "due": date_match.when.isoformat(timespec="minutes") if date_match else None,
        "due_display": format_due(date_match.when, language) if date_match else None,
        "due_text": date_match.text if date_match else None,
        "description": description,
        "language": language,
    }


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    kept, position = [], 0
    for start, end in sorted(spans):
        # Swallow the particle/preposition in front of the customer ("给", "with", "to").
        before = text[position:start]
        particle = _CUSTOMER_PARTICLES_RE.search(before)
        kept.append(before[: particle.start()] if particle else before)
        kept.append(" ")
        position = max(position, end)
    kept.append(text[position:])
    return "".join(kept)


def _describe(text: str, spans: list[tuple[int, int]], chinese: bool) -> str:
    remainder = re.sub(r"\s+", " ", _without_spans(text, spans)).strip(" ，,。.!！?？")
    if chinese:
        remainder = remainder.replace(" ", "")
        remainder = _ZH_LEADING_RE.sub("", remainder)
        remainder = _ZH_ARRANGE_RE.sub("", remainder)
        return remainder.strip(" ，,。")
    previous = None
    while previous != remainder:
        previous = remainder
        remainder = _EN_LEADING_RE.sub("", remainder).strip()
        remainder = _DANGLING_RE.sub("", remainder).strip(" ,.")
    return remainder
