"""The MCP tools' bodies: each calls the same product entry point the CLI uses, as the authenticated caller."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.mcp.models import McpCaller
from salesbot.roles import role_at_least

logger = logging.getLogger(__name__)

# How a person confirms a proposal; an MCP client never can (there is no approve tool).
HOW_TO_CONFIRM = ("This write is only proposed. A person confirms it in Slack or WeCom (the approval card), or "
                  "with `salesbot tasks approve {id} --as <user>`; this MCP connection cannot approve it.")


def search_knowledge(caller: McpCaller, query: str, k: int = 5) -> list[dict[str, Any]]:
    """The caller's role-filtered passages, in the shape of `salesbot search --json`."""
    from knowledge.retriever import retrieve_with_role_filter
    from salesbot.input_limits import ensure_input_fits

    ensure_input_fits(query)
    chunks = retrieve_with_role_filter(query, caller.role, k=max(1, min(k, 20)))
    return [{"source": chunk.source, "section": chunk.section, "text": chunk.text, "score": chunk.score,
             "doc_type": chunk.doc_type, "title": chunk.title, "chunk_id": chunk.chunk_id} for chunk in chunks]


def read_section(caller: McpCaller, source: str, section: str) -> str:
    """A cited section's passages the caller may read (through the retriever, so the role filter applies)."""
    from knowledge.retriever import retrieve_with_role_filter

    chunks = retrieve_with_role_filter(f"{section} {source}", caller.role, k=20)
    texts = [chunk.text for chunk in chunks if chunk.source == source and chunk.section == section]
    return "\n\n".join(texts) if texts else f"No passage of {source} — {section} is readable with your role."


def ask(caller: McpCaller, question: str, thread_id: str | None = None) -> dict[str, Any]:
    """The agent's full answer, in the shape of `salesbot ask --json`; any write it proposes stays pending."""
    from agent.models import TurnRequest
    from agent.service import answer_turn

    # The thread is namespaced by user so one token cannot resume another person's conversation.
    thread = f"mcp:{caller.user_id}:{thread_id or uuid.uuid4().hex[:12]}"
    result = answer_turn(TurnRequest(text=question, user_id=caller.user_id, role=caller.role, thread_id=thread,
                                     channel="mcp"))
    payload = result.model_dump(mode="json")
    payload["thread_id"] = thread_id or thread.rsplit(":", 1)[-1]
    if result.pending_actions:
        payload["how_to_confirm"] = [HOW_TO_CONFIRM.format(id=view.id) for view in result.pending_actions]
    return payload


def _decimal(value: str | float | None, name: str) -> Decimal | None:
    from salesbot.errors import UserFacingError

    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        raise UserFacingError(f"{name} must be a number, got {value!r}") from None


def propose_pricing(caller: McpCaller, product: str, quantity: int, customer: str | None = None,
                    competitor_price: str | None = None, customer_ask: str | None = None,
                    language: str = "en") -> dict[str, Any]:
    """Three quote strategies, redacted for the caller's role, in the shape of `salesbot price --json`."""
    from tools.sales.pricing import propose_pricing as build_pricing
    from tools.sales.pricing import render_pricing

    proposal = build_pricing(product, quantity, customer=customer,
                             competitor_price=_decimal(competitor_price, "competitor_price"),
                             customer_ask=_decimal(customer_ask, "customer_ask"),
                             user=caller.user_id, role=caller.role)
    return {**proposal.view_for_role(caller.role), "role": caller.role,
            "text": render_pricing(proposal, caller.role, "zh" if language == "zh" else "en")}


def propose_write(caller: McpCaller, kind: str, args: dict[str, Any], request_text: str) -> dict[str, Any]:
    """Persist one proposal through the gate; origin "mcp" means the gate never auto-executes it."""
    from tools.gate.store import propose_action

    view = propose_action(kind, {key: value for key, value in args.items() if value is not None},
                          proposer_user=caller.user_id, proposer_role=caller.role,
                          thread_id=f"mcp:{caller.user_id}", origin="mcp", request_text=request_text)
    return {"action": view.model_dump(mode="json"), "how_to_confirm": HOW_TO_CONFIRM.format(id=view.id)}


def data_question(caller: McpCaller, question: str) -> dict[str, Any]:
    """Text-to-SQL as `salesbot sql --json` answers it; roles outside data_question_roles are refused there."""
    from salesbot.llm import load_chat_model
    from tools.text2sql.service import answer_data_question

    answer = answer_data_question(question, caller.role, llm=load_chat_model())
    return answer.model_dump(mode="json")


def list_pending_actions(caller: McpCaller) -> list[dict[str, Any]]:
    """Pending actions as `salesbot tasks --json --status pending` lists them: a rep sees their own only."""
    from tools.gate.store import list_actions

    views = list_actions("pending")
    if not role_at_least(caller.role, "manager"):
        views = [view for view in views if view.proposer == caller.user_id]
    return [view.model_dump(mode="json") for view in views]
