"""The agent's entry points for connectors: answer one turn, decide on a pending action."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.types import Command

from agent.context import Context
from agent.decisions import parse_decision_command
from agent.models import TurnRequest, TurnResult
from knowledge.text import detect_language
from salesbot.errors import UserFacingError
from salesbot.input_limits import (
    LOG_PREFIX_CHARS,
    InputTooLongError,
    ensure_input_fits,
    input_too_long,
    log_prefix,
    max_input_chars,
)
from salesbot.roles import normalize_role
from salesbot.settings import get_settings, on_reset

logger = logging.getLogger(__name__)

_compiled: Any = None
# What the checkpointer holds open: a sqlite3 connection, or a psycopg pool (server profile); closed on reset.
_connection: Any = None
_lock = threading.Lock()
# Connections the Postgres checkpointer may hold: server threads (Slack listeners, WeCom workers) share the pool.
CHECKPOINT_POOL_SIZE = 8


def compiled_graph() -> Any:
    """The graph compiled with this process's checkpointer (one per process).

    Postgres (PostgresSaver) when SALESBOT_DATABASE_URL names a Postgres database, so a thread paused at the
    confirmation gate in one process resumes in any other; else SQLite (SqliteSaver) under SALESBOT_HOME.
    """
    global _compiled, _connection
    with _lock:
        if _compiled is None:
            from agent.graph import build_graph

            database_url = get_settings().database_url
            if database_url and database_url.startswith("postgresql"):
                saver, _connection = _postgres_saver(database_url)
            else:
                saver, _connection = _sqlite_saver()
            _compiled = build_graph().compile(checkpointer=saver)
        return _compiled


def _sqlite_saver() -> tuple[Any, sqlite3.Connection]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    connection = sqlite3.connect(str(get_settings().checkpoint_db_path), check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(connection)
    saver.setup()
    return saver, connection


def _postgres_saver(database_url: str) -> tuple[Any, Any]:
    """PostgresSaver over a psycopg pool (autocommit, dict rows, no prepared statements, as the saver expects);
    setup() runs under a lock of its own (CHECKPOINT_SCHEMA_LOCK_KEY), since its migrations are not safe from two
    processes at once."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from salesbot.database import CHECKPOINT_SCHEMA_LOCK_KEY, libpq_conninfo

    conninfo = libpq_conninfo(database_url)
    pool = ConnectionPool(conninfo, min_size=1, max_size=CHECKPOINT_POOL_SIZE, open=True, timeout=30,
                          kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row,
                                  "connect_timeout": 10})
    saver = PostgresSaver(pool)  # type: ignore[arg-type]
    with pool.connection() as connection:
        _wait_for_advisory_lock(connection, CHECKPOINT_SCHEMA_LOCK_KEY)
        try:
            PostgresSaver(connection).setup()  # type: ignore[arg-type]  # dict rows: the pool's row_factory
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (CHECKPOINT_SCHEMA_LOCK_KEY,))
    return saver, pool


CHECKPOINT_LOCK_WAIT_S = 120.0


def _wait_for_advisory_lock(connection: Any, key: int) -> None:
    """Take the lock by polling pg_try_advisory_lock: a process blocked in pg_advisory_lock sits in an open
    statement, and the setup migrations' CREATE INDEX CONCURRENTLY of the process holding the lock waits for every
    open statement to end, a wait cycle through two processes that Postgres cannot see (both hung for good)."""
    deadline = time.monotonic() + CHECKPOINT_LOCK_WAIT_S
    while not connection.execute("SELECT pg_try_advisory_lock(%s) AS taken", (key,)).fetchone()["taken"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the checkpointer's schema lock was not free within {CHECKPOINT_LOCK_WAIT_S:.0f} s")
        time.sleep(0.2)


@on_reset
def _forget_graph() -> None:
    global _compiled, _connection
    with _lock:
        if _connection is not None:
            _connection.close()
        _compiled, _connection = None, None


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


FRIENDLY_FAILURE = {
    "zh": "抱歉，处理这条消息时出错了，请稍后再试。",
    "en": "Sorry, something went wrong while handling that message. Please try again.",
}


def answer_turn(request: TurnRequest) -> TurnResult:
    """Run one user turn through the conversation graph (thread memory keyed by request.thread_id).

    A decision command ("确认 A7K2Q", "reject A7K2Q", agent.decisions) decides that pending action instead.
    Never raises for a user's input: a UserFacingError's message is shown as is; any other failure becomes
    a short apology in the user's language, details in the log.
    """
    if input_too_long(request.text):
        # Refused before any parsing, retrieval or SQL compilation; the log carries only a prefix.
        logger.info("turn for thread %s refused: input of %d chars: %s", request.thread_id, len(request.text),
                    log_prefix(request.text))
        return TurnResult(answer=str(InputTooLongError(len(request.text), max_input_chars())), refused=True,
                          route="input_too_long", language=detect_language(request.text[:LOG_PREFIX_CHARS]))
    language = detect_language(request.text)
    route = "error"
    try:
        role = normalize_role(request.role)
        command = parse_decision_command(request.text)
        if command is not None:
            route, language = "decision", command.language
            return decide_action(command.action_id, command.decision, request.user_id, role,
                                 command.edited_args or None, language=command.language)
        context = Context(user_id=request.user_id, role=role, thread_id=request.thread_id, channel=request.channel)
        from agent.context import recording_model_checks
        from salesbot.llm import turn_budget

        # Every model call of the turn shares SALESBOT_LLM_TURN_BUDGET_S, and what became of each is reported.
        with turn_budget(), recording_model_checks() as model_checks:
            state = compiled_graph().invoke({"messages": [HumanMessage(content=request.text)],
                                             "question": request.text}, _config(request.thread_id), context=context)
        return TurnResult(**{**state["result"], "model_checks": model_checks})
    except UserFacingError as error:
        logger.info("turn for thread %s ended with a message for the user: %s", request.thread_id, error)
        return TurnResult(answer=str(error), route=route, language=language)
    except Exception:  # the user gets a short message; the traceback goes to the log
        logger.exception("turn failed for thread %s", request.thread_id)
        return TurnResult(answer=FRIENDLY_FAILURE["zh" if language == "zh" else "en"], route="error",
                          language=language)


def decide_action(action_id: str, decision: str, user_id: str, role: str,
                  edited_args: dict[str, Any] | None = None, language: str | None = None) -> TurnResult:
    """Approve, edit or reject a pending action as this user.

    When the proposing thread is still paused at the confirmation gate, the graph is resumed with
    Command(resume=...), so the gate node applies the decision; otherwise (the thread moved on, the action came
    from elsewhere, or another process resumed the gate first) the decision is applied directly. Both paths end
    in the same idempotent tools.gate.store.decide_action. ActionError (not found / not allowed) propagates to the caller.
    """
    from agent.nodes import decision_result
    from tools.gate.store import ActionError, ActionNotFound, ensure_may_decide, get_action
    from tools.gate.store import decide_action as apply_decision

    ensure_input_fits(action_id)
    ensure_input_fits(decision)
    for value in (edited_args or {}).values():
        ensure_input_fits(value if isinstance(value, str) else None)
    view = get_action(action_id) or get_action(action_id.strip().upper())
    if view is None:
        raise ActionNotFound(f"no action with id {action_id!r}; `salesbot tasks` lists them")
    language = language or detect_language(decision)
    actor_role = normalize_role(role)
    # The token tells whether the gate applied *this* call's decision: between the _paused_on check and the resume,
    # another process (a card click there, "确认" here) may resume the gate first, and LangGraph resumes nothing on
    # a thread no longer paused: invoke() then returns that other run's result as if it were ours.
    token = secrets.token_hex(8)
    payload = {"decision": decision, "user_id": user_id, "role": actor_role, "edited_args": edited_args,
               "language": language, "action_id": view.id, "decision_token": token}
    graph = compiled_graph()
    config = _config(view.thread_id)
    if view.status == "pending" and _paused_on(graph, config, view.id):
        # Check authority before resuming: a refused person must not consume the paused gate, or the
        # proposer could no longer resume it.
        ensure_may_decide(view, decision, user_id, actor_role, edited_args)
        context = Context(user_id=user_id, role=actor_role, thread_id=view.thread_id)
        state = graph.invoke(Command(resume=payload), config, context=context)
        if state.get("decision_token") == token:
            result = state["result"]
            if result.get("route") == "decision_error":
                raise ActionError(result["answer"])
            return TurnResult(**result)
        logger.info("gate of %s was resumed elsewhere first; deciding it directly", view.id)
    return TurnResult(**decision_result(apply_decision(view.id, decision, user_id, actor_role, edited_args),
                                        language))


def _paused_on(graph: Any, config: dict[str, Any], action_id: str) -> bool:
    snapshot = graph.get_state(config)
    for task in snapshot.tasks:
        for pending in task.interrupts:
            if isinstance(pending.value, dict) and pending.value.get("action_id") == action_id:
                return True
    return False
