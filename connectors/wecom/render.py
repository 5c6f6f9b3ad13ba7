"""Render an agent TurnResult as WeCom Markdown: answer, sources, pending actions with commands, tables."""

from __future__ import annotations

import re
from typing import Any, Literal

from agent.models import Citation, DataTable, TurnResult
from connectors.common.approvers import approver_label, needs_other_approver
from connectors.wecom.models import ActionCard, RenderedReply
from salesbot.text import detect_language as detect_text_language
from tools.gate.models import ActionView

Language = Literal["zh", "en"]

# WeCom rejects markdown content over 2048 bytes (UTF-8); keep a margin for the "(1/3)" part marker.
MARKDOWN_MAX_BYTES = 2048
PART_MARKER_RESERVE_BYTES = 24
TABLE_MAX_ROWS = 15
TABLE_CELL_MAX_CHARACTERS = 40
QUOTE_MAX_CHARACTERS = 80
QUOTES_PER_SOURCE = 2


LABELS: dict[str, dict[Language, str]] = {
    "sources": {"zh": "**来源**", "en": "**Sources**"},
    "pending": {"zh": "**待确认操作**（确认后才会执行）", "en": "**Pending actions** (nothing is written until confirmed)"},
    "executed": {"zh": "**已执行**", "en": "**Done**"},
    "already_decided": {"zh": "（此前已处理，未重复执行）", "en": " (already decided earlier; nothing was done again)"},
    "table": {"zh": "**查询结果**", "en": "**Result**"},
    "more_rows": {"zh": "……另有 {count} 行未显示", "en": "… {count} more rows not shown"},
    "sql": {"zh": "SQL", "en": "SQL"},
    "chart": {"zh": "图表见下一条消息。", "en": "The chart follows in the next message."},
}


def detect_language(text: str) -> Language:
    """The reply language for text the agent did not write (the same rule the agent uses)."""
    return detect_text_language(text)


def render_turn_result(result: TurnResult) -> RenderedReply:
    """The Markdown chunks, chart images and action cards for one agent result."""
    language: Language = "zh" if result.language.lower().startswith("zh") else "en"
    sections = [result.answer.strip() or ("（没有可显示的内容）" if language == "zh" else "(nothing to show)")]
    if result.citations:
        sections.append(render_citations(result.citations, result.answer, language))
    if result.table is not None:
        sections.append(render_table(result.table, language))
    # The agent's answer often names the action already ("待确认 [A7K2Q]：…"); list only what it left out.
    executed = [action for action in result.executed_actions if not _named_in(action, result.answer)]
    pending = [action for action in result.pending_actions if not _named_in(action, result.answer)]
    if executed:
        sections.append(render_executed_actions(executed, language))
    if pending:
        sections.append(render_pending_actions(pending, language))
    if result.chart:
        sections.append(LABELS["chart"][language])
    return RenderedReply(
        markdown_chunks=split_markdown_for_wecom("\n\n".join(section for section in sections if section)),
        image_paths=[result.chart] if result.chart else [],
        # Buttons only for actions this user can decide; a manager's approval card goes to the manager instead.
        action_cards=[action_card(action, language) for action in result.pending_actions
                      if not needs_other_approver(action)],
    )


def render_plain_message(text: str) -> RenderedReply:
    """A connector-written message (errors, hints) as a reply."""
    return RenderedReply(markdown_chunks=split_markdown_for_wecom(text))


def render_citations(citations: list[Citation], answer: str, language: Language) -> str:
    """One line per cited section; a quote only when the answer does not already show it (WeCom chats are small)."""
    answer_text = "".join(answer.split())
    grouped: dict[tuple[str, str], list[str]] = {}
    for citation in citations:
        quotes = grouped.setdefault((citation.source, citation.section), [])
        quote = " ".join(citation.quote.split())
        if quote and "".join(quote.split()) not in answer_text and quote not in quotes:
            quotes.append(quote)
    lines = [LABELS["sources"][language]]
    for number, ((source, section), quotes) in enumerate(grouped.items(), start=1):
        lines.append(f"{number}. {source} · {section}" if section else f"{number}. {source}")
        lines.extend(f"> {_shorten(quote, QUOTE_MAX_CHARACTERS)}" for quote in quotes[:QUOTES_PER_SOURCE])
    return "\n".join(lines)


def render_table(table: DataTable, language: Language) -> str:
    """A Markdown pipe table (readable as plain text too, since WeCom's Markdown subset has no tables)."""
    lines = [LABELS["table"][language]]
    if table.columns:
        lines.append("| " + " | ".join(_cell(column) for column in table.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    for row in table.rows[:TABLE_MAX_ROWS]:
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    hidden = len(table.rows) - TABLE_MAX_ROWS
    if hidden > 0:
        lines.append(LABELS["more_rows"][language].format(count=hidden))
    if table.sql:
        lines.append(f"> {LABELS['sql'][language]}: `{' '.join(table.sql.split())}`")
    return "\n".join(lines)


def render_pending_actions(actions: list[ActionView], language: Language) -> str:
    lines = [LABELS["pending"][language]]
    for action in actions:
        approver = approver_label(action, language)
        note = (f"（{approver}）" if language == "zh" else f" ({approver})") if approver else ""
        lines.append(f"- `{action.id}` {describe_action(action, language)}{note}")
        if needs_other_approver(action):
            lines.append(withdraw_instructions(action.id, language))
        else:
            lines.append(confirm_instructions(action.id, language))
    return "\n".join(lines)


def render_executed_actions(actions: list[ActionView], language: Language) -> str:
    lines = [LABELS["executed"][language]]
    for action in actions:
        note = LABELS["already_decided"][language] if action.already_decided else ""
        lines.append(f"- {describe_action(action, language)}{note}")
    return "\n".join(lines)


def confirm_instructions(action_id: str, language: Language) -> str:
    """The short commands a user types to decide an action (parsed by agent.decisions)."""
    if language == "zh":
        return f"  回复「确认 {action_id}」执行，「修改 {action_id} 截止=下周五」修改，「取消 {action_id}」放弃"
    return f"  Reply `approve {action_id}`, `edit {action_id} due=next Friday` or `reject {action_id}`"


def withdraw_instructions(action_id: str, language: Language) -> str:
    """For a proposal an approver must decide: the proposer can only wait or withdraw it."""
    if language == "zh":
        return f"  已提交审批，等待审批人处理；回复「取消 {action_id}」可撤回"
    return f"  Sent for approval; reply `reject {action_id}` to withdraw it"


def action_card(action: ActionView, language: Language) -> ActionCard:
    title = "待确认操作" if language == "zh" else "Action awaiting confirmation"
    return ActionCard(action_id=action.id, title=f"{title} {action.id}",
                      description=_shorten(describe_action(action, language), 120), language=language)


def describe_action(action: ActionView, language: Language = "en") -> str:
    """One line saying what the action does: the gate's summary in the reader's language."""
    return (action.summary_zh or action.summary) if language == "zh" else (action.summary or action.summary_zh)


def split_markdown_for_wecom(markdown: str, max_bytes: int = MARKDOWN_MAX_BYTES) -> list[str]:
    """Split at line boundaries so every message fits WeCom's byte limit; overlong lines are cut by characters."""
    budget = max_bytes - PART_MARKER_RESERVE_BYTES
    pieces: list[str] = []
    for line in markdown.split("\n"):
        pieces.extend(_cut_line(line, budget))
    chunks: list[str] = []
    current: list[str] = []
    current_bytes = 0
    for piece in pieces:
        piece_bytes = len(piece.encode("utf-8")) + 1
        if current and current_bytes + piece_bytes > budget:
            chunks.append("\n".join(current).strip("\n"))
            current, current_bytes = [], 0
        current.append(piece)
        current_bytes += piece_bytes
    if current:
        chunks.append("\n".join(current).strip("\n"))
    chunks = [chunk for chunk in chunks if chunk] or [""]
    if len(chunks) > 1:
        chunks = [f"{chunk}\n({number}/{len(chunks)})" for number, chunk in enumerate(chunks, start=1)]
    return chunks


def _cut_line(line: str, budget: int) -> list[str]:
    if len(line.encode("utf-8")) < budget:
        return [line]
    parts, current = [], ""
    for character in line:
        if len((current + character).encode("utf-8")) >= budget:
            parts.append(current)
            current = ""
        current += character
    return [*parts, current]


def _named_in(action: ActionView, answer: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(action.id)}(?![A-Za-z0-9])", answer) is not None


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return _shorten(text.replace("|", "/").replace("\n", " "), TABLE_CELL_MAX_CHARACTERS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
