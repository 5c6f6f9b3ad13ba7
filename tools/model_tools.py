"""The typed tools the model sees: thin wrappers; write tools only *propose* (the gate decides), no logic here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.gate.models import (
    ActionContext,
    ActionView,
    FollowUpTaskInput,
    OpportunityCardInput,
    QuoteApprovalInput,
    StageUpdateInput,
)
from tools.gate.store import propose_action
from tools.text2sql.models import SqlAnswer


def _propose(kind: str, args: dict[str, Any], context: ActionContext | None) -> ActionView:
    context = context or ActionContext()
    return propose_action(kind, args, proposer_user=context.user_id, proposer_role=context.role,
                          thread_id=context.thread_id, sources=context.sources, origin=context.origin,
                          request_text=context.request_text)


def create_follow_up_task(customer: str, due: str, description: str, *,
                          context: ActionContext | None = None) -> ActionView:
    """Propose a follow-up task (call, visit, send a document) for a customer at a due time.

    Use when the user asks to schedule, remind or follow up, e.g. "给<客户>下周三安排一次回访".
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


def submit_quote_for_approval(customer: str, product: str, quantity: int, unit_price: str | None = None,
                              strategy: str | None = None, suggestion_id: str | None = None, *,
                              context: ActionContext | None = None) -> ActionView:
    """Propose submitting a quote (customer, product, quantity, unit price) for approval.

    The pricing policy's approval bands decide who approves. Use the unit price of a strategy from the
    pricing tool; when that tool withheld a strategy's price, omit unit_price and give the strategy key and
    the proposal's suggestion_id instead. A price below policy is refused.
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


# ---------------------------------------------------------------- read-only data questions


def answer_data_question(
    question: str, role: str, db_url: str | None = None, chart_path: str | None = None, llm: Any = None
) -> SqlAnswer:
    """Answer a data question about the sales database with one read-only SQL query.

    Use for numbers, rankings, trends and lookups over customers, products, deals and opportunities, e.g.
    "哪个区域上季度成交额最高?", "monthly revenue in 2025 vs 2024", "top 5 customers by revenue". Only
    roles in settings.data_question_roles (manager and above) may ask; requests to change data are refused.
    Returns the SQL, the columns and rows, a chart path (PNG) when a chart helps, `refused`, and a message.
    """
    from tools.text2sql.service import answer_data_question as answer

    return answer(question, role, db_url=db_url, chart_path=chart_path, llm=llm)
