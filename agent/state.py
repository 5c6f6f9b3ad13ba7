"""The graph state kept per thread by the checkpointer."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class AgentState(TypedDict, total=False):
    """One thread's memory (messages, focus entities) plus the working values of the current turn."""

    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    language: str
    route: str
    # Entity names the thread is about, so "那质保多久?" after a question on one contract stays on that contract.
    focus: list[str]
    passages: list[dict[str, Any]]
    pending_action: dict[str, Any] | None
    # The token of the decision the confirmation gate last applied (agent.service.decide_action checks it was its own).
    decision_token: str | None
    # Set by a route that cannot serve the turn (role not allowed, a required slot missing): the knowledge
    # route answers instead when the knowledge base supports an answer, else this route's message is shown.
    fallback: dict[str, Any] | None
    result: dict[str, Any]
