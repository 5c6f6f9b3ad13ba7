"""Coach a conversation file a chat user shared: bytes in, one TurnResult out (card text + pending actions)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agent.models import TurnResult
from salesbot.text import detect_language
from tools.coach.inputs import MAX_INPUT_BYTES, CoachInputError
from tools.gate.models import ActionView

# The suffixes `salesbot coach` reads; anything else is refused before it is downloaded.
COACH_SUFFIXES = (".txt", ".vtt", ".srt", ".eml", ".png", ".jpg", ".jpeg")
CARD_FIELDS = ("customer", "products", "quantity", "competitors", "budget", "timeline", "decision_maker", "stage")


def coach_file_problem(name: str, size: int | None) -> str | None:
    """Why a shared file cannot be coached (a one-line, bilingual message), or None when it can."""
    if not name.lower().endswith(COACH_SUFFIXES):
        return (f"{name}: I can coach transcripts (.txt/.vtt/.srt), chat exports, e-mails (.eml) and screenshots "
                f"(.png/.jpg) / 只能分析通话记录、聊天导出、邮件和截图")
    if size is not None and size > MAX_INPUT_BYTES:
        return f"{name} is larger than {MAX_INPUT_BYTES // 1_000_000} MB / 文件过大"
    return None


def coach_card_text(contract: dict[str, Any], notes: list[str]) -> str:
    """The card as chat text (markdown bold): fields, competitor prices, objections, avoidance, quote strategies."""
    card = contract["card"]
    lines = ["**Opportunity card / 商机卡片**"]
    for field in CARD_FIELDS:
        value = card[field]
        if value not in (None, []):
            lines.append(f"• {field}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    lines.extend(f"• competitor price: {price['competitor']} {price['amount']:,.0f} {price['currency']} "
                 f"(line {price['line']})" for price in card["competitor_prices"])
    lines.extend(f"• objection: {objection['type']} (line {objection['line']})" for objection in card["objections"])
    lines.append(f"Price avoidance / 回避价格: {contract['price_avoidance']}")
    pricing = contract["pricing"]
    if pricing:
        lines.append(f"Quote strategies / 报价策略 {pricing.get('sku')} x {pricing.get('quantity')}:")
        lines.extend(f"• {strategy.get('key')}: {strategy.get('unit_price')} {pricing.get('currency')}"
                     for strategy in pricing.get("strategies", []))
    lines.extend(f"Note: {note}" for note in notes)
    return "\n".join(lines)


def coach_shared_file(raw: bytes, name: str, *, user_id: str, role: str, thread_id: str) -> TurnResult:
    """Coach a shared file's bytes as `salesbot coach` would; UserFacingError for a file it cannot read."""
    from tools.coach import coach_path

    problem = coach_file_problem(name, len(raw))
    if problem:
        raise CoachInputError(problem)
    # The parsers dispatch on the file's suffix, so the bytes go to a temporary file of the same suffix.
    with tempfile.TemporaryDirectory(prefix="salesbot-coach-") as folder:
        path = Path(folder) / ("shared" + Path(name).suffix.lower())
        path.write_bytes(raw)
        report = coach_path(path, role=role, user_id=user_id, thread_id=thread_id)
    contract = report.to_contract()
    spoken = " ".join(turn.text for turn in report.conversation.turns[:20])
    return TurnResult(
        answer=coach_card_text(contract, report.notes), route="task", language=detect_language(spoken),
        pending_actions=[ActionView.model_validate(action) for action in report.pending_actions],
        executed_actions=[ActionView.model_validate(action) for action in report.executed_actions],
    )

