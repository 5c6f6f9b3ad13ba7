"""The conversation graph: route → (retrieve → compose | price | data | propose → confirm | help) → record;
a route that cannot serve the turn falls back to retrieve → compose."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.context import Context
from agent.nodes import (
    answer_data_question,
    compose_answer,
    confirm_action,
    propose_pricing_strategies,
    propose_write_action,
    record_turn,
    respond_help,
    retrieve_passages,
    route_question,
)
from agent.state import AgentState

ROUTE_TO_NODE = {"knowledge": "retrieve_passages", "pricing": "propose_pricing_strategies",
                 "task": "propose_write_action", "data": "answer_data_question", "help": "respond_help"}


def _next_after_route(state: AgentState) -> str:
    return ROUTE_TO_NODE.get(state.get("route", "knowledge"), "retrieve_passages")


def build_graph() -> StateGraph[AgentState, Context, AgentState, AgentState]:
    """The uncompiled graph; the service compiles it with a checkpointer, Studio with its own."""
    builder = StateGraph(AgentState, context_schema=Context)
    builder.add_node("route_question", route_question)
    builder.add_node("retrieve_passages", retrieve_passages)
    builder.add_node("compose_answer", compose_answer)
    builder.add_node("propose_pricing_strategies", propose_pricing_strategies)
    builder.add_node("answer_data_question", answer_data_question)
    builder.add_node("propose_write_action", propose_write_action)
    builder.add_node("confirm_action", confirm_action)
    builder.add_node("respond_help", respond_help)
    builder.add_node("record_turn", record_turn)
    builder.add_edge(START, "route_question")
    builder.add_conditional_edges("route_question", _next_after_route, list(ROUTE_TO_NODE.values()))
    builder.add_edge("retrieve_passages", "compose_answer")
    # A route that cannot serve the turn (role, missing slot) hands it to the knowledge route; the answer is
    # recorded in the thread before the gate pauses, so a proposal is part of the memory.
    for node in ("propose_write_action", "propose_pricing_strategies", "answer_data_question"):
        builder.add_conditional_edges(node, _after_route_node, ["retrieve_passages", "record_turn"])
    for node in ("compose_answer", "respond_help"):
        builder.add_edge(node, "record_turn")
    builder.add_conditional_edges("record_turn", _after_record, ["confirm_action", END])
    builder.add_edge("confirm_action", END)
    return builder


def _after_route_node(state: AgentState) -> str:
    return "retrieve_passages" if state.get("fallback") else "record_turn"


def _after_record(state: AgentState) -> Any:
    action = state.get("pending_action") or {}
    return "confirm_action" if action.get("status") == "pending" else END


# LangGraph Studio / `langgraph dev` load this (see langgraph.json); they supply their own persistence.
graph = build_graph().compile()
