"""The agent's entry points for connectors: answer one turn, decide on a pending action."""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.types import Command

from agent.context import Context
from agent.models import TurnRequest, TurnResult
from agent.router import parse_decision
from knowledge.text import detect_language
from salesbot.roles import normalize_role
from salesbot.settings import get_settings, on_reset

logger = logging.getLogger(__name__)

_compiled: Any = None
_connection: sqlite3.Connection | None = None
_lock = threading.Lock()


def compiled_graph() -> Any:
    """The graph compiled with the SQLite checkpointer under SALESBOT_HOME (one per process)."""
    global _compiled, _connection
    with _lock:
        if _compiled is None:
            from langgraph.checkpoint.sqlite import SqliteSaver

            from agent.graph import build_graph

            _connection = sqlite3.connect(str(get_settings().checkpoint_db_path), check_same_thread=False)
            _connection.execute("PRAGMA journal_mode=WAL")
            saver = SqliteSaver(_connection)
            saver.setup()
            _compiled = build_graph().compile(checkpointer=saver)
        return _compiled


@on_reset
def _forget_graph() -> None:
    global _compiled, _connection
    with _lock:
        if _connection is not None:
            _connection.close()
        _compiled, _connection = None, None


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def answer_turn(request: TurnRequest) -> TurnResult:
    """Run one user turn through the conversation graph (thread memory keyed by request.thread_id).

    Never raises for a user's input: failures come back as a short friendly answer, details in the log.
    """
    language = detect_language(request.text)
    try:
        role = normalize_role(request.role)
        decision = parse_decision(request.text)
        if decision is not None:
            verb, action_id, rest = decision
            return decide_action(action_id, verb, request.user_id, role, _edited_args(rest) if rest else None,
                                 language=language)
        context = Context(user_id=request.user_id, role=role, thread_id=request.thread_id, channel=request.channel)
        state = compiled_graph().invoke({"messages": [HumanMessage(content=request.text)], "question": request.text},
                                        _config(request.thread_id), context=context)
        return TurnResult(**state["result"])
    except Exception as error:  # the user gets a short message; the traceback goes to the log
        from tools.gate.store import ActionError

        if isinstance(error, ActionError | ValueError):
            return TurnResult(answer=str(error), route="decision", language=language)
        logger.exception("turn failed for thread %s", request.thread_id)
        return TurnResult(answer=("抱歉，处理这条消息时出错了，请稍后再试。" if language == "zh" else
                                  "Sorry, something went wrong while handling that message. Please try again."),
                          route="error", language=language)


def _edited_args(rest: str) -> dict[str, Any]:
    """'due=next friday description=send quote' → {'due': 'next friday', 'description': 'send quote'}."""
    import re

    pairs = re.findall(r"(\w+)\s*[=＝:：]\s*(.+?)(?=\s+\w+\s*[=＝:：]|$)", rest.strip())
    aliases = {"截止": "due", "时间": "due", "日期": "due", "描述": "description", "内容": "description",
               "客户": "customer", "阶段": "stage"}
    return {aliases.get(key, key): value.strip() for key, value in pairs}


def decide_action(action_id: str, decision: str, user_id: str, role: str,
                  edited_args: dict[str, Any] | None = None, language: str | None = None) -> TurnResult:
    """Approve, edit or reject a pending action as this user.

    When the proposing thread is still paused at the confirmation gate, the graph is resumed with
    Command(resume=...), so the gate node applies the decision; otherwise (the thread moved on, or the
    action came from elsewhere) the decision is applied directly. Both paths end in the same idempotent
    tools.gate.store.decide_action. ActionError (not found / not allowed) propagates to the caller.
    """
    from agent.nodes import decision_result
    from tools.gate.store import (
        ActionError,
        ActionNotAllowed,
        ActionNotFound,
        get_action,
        may_decide,
        not_allowed_message,
    )
    from tools.gate.store import decide_action as apply_decision

    view = get_action(action_id) or get_action(action_id.strip().upper())
    if view is None:
        raise ActionNotFound(f"no action with id {action_id!r}; `salesbot tasks` lists them")
    language = language or detect_language(decision)
    actor_role = normalize_role(role)
    payload = {"decision": decision, "user_id": user_id, "role": actor_role, "edited_args": edited_args,
               "language": language}
    graph = compiled_graph()
    config = _config(view.thread_id)
    if view.status == "pending" and _paused_on(graph, config, view.id):
        # Check authority before resuming: a refused person must not consume the paused gate, or the
        # proposer could no longer resume it.
        allowed = may_decide(view.required_approver, view.proposer, user_id, actor_role) or (
            decision == "reject" and user_id == view.proposer)
        if not allowed:
            raise ActionNotAllowed(not_allowed_message(view.required_approver, view.id))
        context = Context(user_id=user_id, role=actor_role, thread_id=view.thread_id)
        state = graph.invoke(Command(resume=payload), config, context=context)
        result = state["result"]
        if result.get("route") == "decision_error":
            raise ActionError(result["answer"])
        return TurnResult(**result)
    return TurnResult(**decision_result(apply_decision(view.id, decision, user_id, actor_role, edited_args),
                                        language))


def _paused_on(graph: Any, config: dict[str, Any], action_id: str) -> bool:
    snapshot = graph.get_state(config)
    for task in snapshot.tasks:
        for pending in task.interrupts:
            if isinstance(pending.value, dict) and pending.value.get("action_id") == action_id:
                return True
    return False
