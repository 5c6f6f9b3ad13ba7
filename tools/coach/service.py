"""Coach a conversation: parse, analyse, price when needed, and propose the card and follow-ups through the gate."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesbot.errors import UserFacingError
from salesbot.settings import get_settings
from tools.coach.analysis import (
    QUOTE_REQUEST_RE,
    assign_sides,
    build_card,
    count_price_avoidance,
    rep_named_a_price,
)
from tools.coach.inputs import parse_text, read_conversation
from tools.coach.models import CoachCard, CoachReport, Conversation
from tools.sales.dates import find_due_date, local_now

logger = logging.getLogger(__name__)


def _known_reps() -> set[str]:
    """Rep user ids the sales DB knows (deal owners); empty when there is no DB yet."""
    try:
        from sqlmodel import select

        from tools.db.tables import Deal, sales_session

        with sales_session() as session:
            return {str(rep) for rep in session.exec(select(Deal.rep)).all() if rep}
    except Exception:  # no sales DB (fresh home): fall back to the other heuristics
        logger.debug("no sales DB for rep names", exc_info=True)
        return set()


def _pricing(card: CoachCard, role: str, user_id: str, notes: list[str]) -> dict[str, Any] | None:
    from tools.sales.pricing import propose_pricing

    if not card.products:
        return None
    quantity = card.quantity
    if not quantity:
        # The strategies are still worth having when the buyer has not said how many: priced per unit, without a
        # volume tier, and said so.
        quantity = 1
        notes.append("no quantity stated: pricing shown for 1 unit (no volume tier) / 未提到数量，按 1 台测算")
    lowest = min((item.amount for item in card.competitor_prices), default=None)
    competitor_price = None if lowest is None else Decimal(str(lowest))
    try:
        proposal = propose_pricing(card.products[0], quantity, card.customer,
                                   competitor_price=None if competitor_price is None else Decimal(str(competitor_price)), record=False, user=user_id, role=role)
    except UserFacingError as error:
        logger.info("coach pricing skipped: %s", error)
        return None
    # The same role view the chat pricing route shows: floor and margins removed below manager.
    return proposal.view_for_role(role)


def _follow_up_due(conversation: Conversation) -> str:
    """The last date a turn names (下周三, next Friday), else two days from now at 10:00."""
    for turn in reversed(conversation.turns):
        found = find_due_date(turn.text)
        if found is not None:
            return found.when.isoformat(timespec="minutes")
    default = (local_now() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    return default.isoformat(timespec="minutes")


def _propose(report: CoachReport, kind: str, args: dict[str, Any], user_id: str, role: str, thread_id: str,
             sources: list[dict[str, Any]]) -> None:
    from tools.gate.store import propose_action

    try:
        view = propose_action(kind, args, user_id, role, thread_id, sources, origin="user")
    except UserFacingError as error:
        report.notes.append(f"{kind} not proposed: {error}")
        return
    target = report.executed_actions if view.status == "executed" else report.pending_actions
    target.append(view.model_dump(mode="json"))


def _propose_actions(report: CoachReport, user_id: str, role: str, thread_id: str) -> None:
    card = report.card
    if not card.customer:
        report.notes.append("no known customer named; nothing proposed (use --customer) / 未识别客户，未提出操作")
        return
    sources = [{"field": item.field, "line": item.line, "text": item.text[:200]} for item in card.evidence]
    _propose(report, "log_opportunity_card", {
        "customer": card.customer, "product": card.products[0] if card.products else None, "stage": card.stage,
        "budget": None if card.budget is None else str(int(card.budget)),
        "competitor": card.competitors[0] if card.competitors else None,
        "objections": [f"{item.type}: line {item.line}" for item in card.objections][:5],
        "next_step": card.timeline}, user_id, role, thread_id, sources)
    description = "跟进报价与异议" if report.pricing or card.objections else "跟进商机"
    _propose(report, "create_follow_up_task", {"customer": card.customer, "due": _follow_up_due(report.conversation),
                                               "description": description}, user_id, role, thread_id, sources)


def coach_conversation(conversation: Conversation, *, customer: str | None = None, role: str = "rep",
                       user_id: str = "cli", thread_id: str | None = None, started: float | None = None) -> CoachReport:
    """Analyse a parsed conversation and propose its card and follow-ups (timing runs from `started`)."""
    start = time.perf_counter() if started is None else started
    assign_sides(conversation, user_id, _known_reps())
    card = build_card(conversation, customer)
    avoided = count_price_avoidance(conversation.turns)
    quote_requested = any(turn.side == "customer" and QUOTE_REQUEST_RE.search(turn.text)
                          for turn in conversation.turns)
    report = CoachReport(card=card, price_avoidance=len(avoided), price_avoidance_lines=avoided,
                         quote_requested=quote_requested, conversation=conversation)
    # Strategies when the rep keeps avoiding price, or owes a quote and has not named any price yet; a request
    # the rep already answered with figures needs none.
    quote_owed = quote_requested and not rep_named_a_price(conversation.turns)
    if len(avoided) >= get_settings().coach_price_avoidance_threshold or quote_owed:
        report.pricing = _pricing(card, role, user_id, report.notes)
    _propose_actions(report, user_id, role, thread_id or f"coach:{user_id}")
    report.elapsed_ms = (time.perf_counter() - start) * 1000
    return report


def coach_path(path: Path, *, customer: str | None = None, role: str = "rep", user_id: str = "cli",
               thread_id: str | None = None) -> CoachReport:
    """Coach a conversation file (.txt, .vtt, .srt, chat export, .eml, .png/.jpg)."""
    started = time.perf_counter()
    conversation = read_conversation(Path(path))
    return coach_conversation(conversation, customer=customer, role=role, user_id=user_id,
                              thread_id=thread_id or f"coach:{Path(path).name}", started=started)


def coach_text(text: str, *, source: str = "transcript", customer: str | None = None, role: str = "rep",
               user_id: str = "cli", thread_id: str | None = None) -> CoachReport:
    """Coach conversation text in memory; source is transcript, chat or email."""
    started = time.perf_counter()
    conversation = parse_text(text, source)
    if not conversation.turns:
        from tools.coach.inputs import CoachInputError

        raise CoachInputError("no speaker turns found; label lines as \"Name: text\" / 未找到带发言人的对话行")
    return coach_conversation(conversation, customer=customer, role=role, user_id=user_id, thread_id=thread_id,
                              started=started)
