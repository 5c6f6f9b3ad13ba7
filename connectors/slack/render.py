"""Block Kit rendering of agent results: answer, citations, tables, pending actions, feedback; pure functions."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.models import Citation, DataTable, TurnResult
from connectors.common.approvers import approver_label
from connectors.slack.models import (
    APPROVE_ACTION_ID,
    EDIT_ACTION_ID,
    EDIT_MODAL_CALLBACK_ID,
    EDIT_MODAL_INPUT_ACTION_ID,
    EDIT_MODAL_INPUT_BLOCK_ID,
    FEEDBACK_DOWN_ACTION_ID,
    FEEDBACK_UP_ACTION_ID,
    REJECT_ACTION_ID,
    EditModalState,
    PendingBlockOrigin,
)
from salesbot.text import detect_language
from tools.gate.models import ActionView

# Slack limits (api.slack.com/reference/block-kit): 3000 chars per section text, 10 context elements,
# 50 blocks per message, 2000 chars per button value, 4000 chars in the notification text.
SECTION_TEXT_LIMIT = 2900
CONTEXT_ELEMENT_LIMIT = 10
MESSAGE_BLOCK_LIMIT = 50
FALLBACK_TEXT_LIMIT = 3500
TABLE_ROW_LIMIT = 25
QUOTE_LIMIT = 220

LABELS = {
    "en": {
        "approve": "Approve", "edit": "Edit", "reject": "Reject", "proposed": "Proposed",
        "done": "Done", "helpful": "👍 Helpful", "not_helpful": "👎 Not helpful",
        "sources": "Sources", "sql": "SQL", "more_rows": "more rows not shown",
        "approved": "Approved", "rejected": "Rejected", "edited": "Edited", "by": "by",
        "approval_request": "asks for your approval",
    },
    "zh": {
        "approve": "批准", "edit": "修改", "reject": "拒绝", "proposed": "待确认",
        "done": "已执行", "helpful": "👍 有用", "not_helpful": "👎 没用",
        "sources": "来源", "sql": "SQL", "more_rows": "行未显示",
        "approved": "已批准", "rejected": "已拒绝", "edited": "已修改", "by": "操作人",
        "approval_request": "请求您审批",
    },
}

FRIENDLY_ERROR = {
    "en": "Sorry, something went wrong while I was working on that. Please try again in a minute; "
          "the details are in the server log.",
    "zh": "抱歉，处理时出了点问题，请稍后再试；详细信息已记录在服务器日志中。",
}
FRIENDLY_EMPTY_QUESTION = {
    "en": "Ask me something, e.g. `/salesbot what is the warranty period in the <customer> contract?`",
    "zh": "请输入问题，例如 `/salesbot <客户> 合同的质保期是多久？`",
}

_MARKDOWN_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)


def language_of(text: str) -> str:
    """The one language rule (salesbot.text.detect_language), used before the agent has answered."""
    return detect_language(text or "")


def labels_for(language: str) -> dict[str, str]:
    return LABELS["zh" if language.startswith("zh") else "en"]


def friendly_error_text(user_text: str) -> str:
    return FRIENDLY_ERROR[language_of(user_text)]


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; anything else in agent text is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_from_markdown(text: str) -> str:
    """Convert the Markdown the agent writes into Slack mrkdwn (bold, links, headings)."""
    converted = escape_mrkdwn(text)
    converted = _MARKDOWN_HEADING.sub(r"*\1*", converted)
    converted = _MARKDOWN_BOLD.sub(r"*\1*", converted)
    return _MARKDOWN_LINK.sub(r"<\2|\1>", converted)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Split long text into section-sized pieces, preferring paragraph then line boundaries."""
    pieces: list[str] = []
    remaining = text.strip()
    while len(remaining) > limit:
        cut = remaining.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = remaining.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(remaining[:cut].rstrip())
        remaining = remaining[cut:].lstrip()
    if remaining:
        pieces.append(remaining)
    return pieces


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": item} for item in texts]}


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def render_citations(citations: list[Citation], language: str = "en") -> list[dict[str, Any]]:
    """Citations as context blocks: source › section — “quote” (ten per block, Slack's element limit)."""
    lines = []
    for number, citation in enumerate(citations, start=1):
        location = escape_mrkdwn(citation.source)
        if citation.section:
            location += f" › {escape_mrkdwn(citation.section)}"
        quote = escape_mrkdwn(truncate(" ".join(citation.quote.split()), QUOTE_LIMIT))
        lines.append(f"[{number}] *{location}* — “{quote}”")
    if not lines:
        return []
    lines[0] = f"📄 {labels_for(language)['sources']}: {lines[0]}"
    return [context(lines[start : start + CONTEXT_ELEMENT_LIMIT]) for start in range(0, len(lines), CONTEXT_ELEMENT_LIMIT)]


def format_table_text(table: DataTable, row_limit: int = TABLE_ROW_LIMIT) -> tuple[str, int]:
    """A fixed-width text table and how many rows were left out."""
    shown_rows = [["" if cell is None else str(cell) for cell in row] for row in table.rows[:row_limit]]
    header = [str(column) for column in table.columns]
    widths = [len(name) for name in header]
    for row in shown_rows:
        for index, cell in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], len(cell))

    def format_row(cells: list[str]) -> str:
        return " | ".join(cell.ljust(widths[index]) for index, cell in enumerate(cells[: len(widths)])).rstrip()
    lines = [format_row(header), "-+-".join("-" * width for width in widths)]
    lines.extend(format_row(row) for row in shown_rows)
    return "\n".join(lines), max(0, len(table.rows) - row_limit)


def render_table(table: DataTable, language: str = "en") -> list[dict[str, Any]]:
    labels = labels_for(language)
    table_text, hidden_rows = format_table_text(table)
    # ``` fences must survive truncation, so cut the table text itself.
    blocks = [section(f"```{truncate(table_text, SECTION_TEXT_LIMIT - 8)}```")]
    notes = []
    if hidden_rows:
        notes.append(f"… {hidden_rows} {labels['more_rows']}")
    notes.append(f"{labels['sql']}: `{escape_mrkdwn(truncate(' '.join(table.sql.split()), 1500))}`")
    blocks.append(context(notes))
    return blocks


def render_pending_action(action: ActionView, origin: PendingBlockOrigin, language: str = "en") -> list[dict[str, Any]]:
    """One proposal: its summary, who must approve it, and Approve / Edit / Reject (value = action id)."""
    labels = labels_for(language)
    summary = escape_mrkdwn(action_summary_text(action, language) or action.id)
    details = [f"`{escape_mrkdwn(action.kind)}` {escape_mrkdwn(action.id)}"]
    if action.required_approver:
        details.append(f"*{escape_mrkdwn(approver_label(action, 'zh' if language.startswith('zh') else 'en'))}*")
    if action.proposer:
        details.append(f"<@{action.proposer}>" if _looks_like_slack_user(action.proposer)
                       else escape_mrkdwn(action.proposer))
    blocks = [section(f"📝 *{labels['proposed']}:* {summary}")]
    if action.args:
        args_text = json.dumps(action.args, ensure_ascii=False, indent=1, default=str)
        blocks.append(section(f"```{truncate(args_text, 1200)}```"))
    blocks.append(context([" · ".join(details)]))
    blocks.append({
        "type": "actions",
        "block_id": origin.model_copy(update={"action_id": action.id}).to_block_id(),
        "elements": [
            button(labels["approve"], APPROVE_ACTION_ID, action.id, "primary"),
            button(labels["edit"], EDIT_ACTION_ID, action.id),
            button(labels["reject"], REJECT_ACTION_ID, action.id, "danger"),
        ],
    })
    return blocks


def action_summary_text(action: ActionView, language: str = "en") -> str:
    """The action's one-line summary in the answer's language (the gate gives summary and summary_zh)."""
    if language.startswith("zh") and action.summary_zh:
        return action.summary_zh
    return action.summary or action.kind


def _looks_like_slack_user(value: str) -> bool:
    return bool(re.fullmatch(r"[UW][A-Z0-9]{2,}", value))


def render_executed_actions(actions: list[ActionView], language: str = "en") -> list[dict[str, Any]]:
    label = labels_for(language)["done"]
    lines = [f"✅ *{label}:* {escape_mrkdwn(action_summary_text(action, language))}" for action in actions]
    return [section(text) for text in split_text("\n".join(lines))] if lines else []


def render_feedback_buttons(suggestion_id: str, language: str = "en") -> dict[str, Any]:
    labels = labels_for(language)
    return {
        "type": "actions",
        "block_id": f"salesbot_feedback:{suggestion_id}",
        "elements": [
            button(labels["helpful"], FEEDBACK_UP_ACTION_ID, suggestion_id),
            button(labels["not_helpful"], FEEDBACK_DOWN_ACTION_ID, suggestion_id),
        ],
    }


def render_turn_result(result: TurnResult, origin: PendingBlockOrigin | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The whole answer message: (notification text, blocks)."""
    origin = origin or PendingBlockOrigin(action_id="")
    language = result.language
    blocks: list[dict[str, Any]] = [section(piece) for piece in split_text(mrkdwn_from_markdown(result.answer))]
    if result.table is not None:
        blocks.extend(render_table(result.table, language))
    blocks.extend(render_citations(result.citations, language))
    blocks.extend(render_executed_actions(result.executed_actions, language))
    for action in result.pending_actions:
        blocks.extend(render_pending_action(action, origin, language))
    if result.suggestion_id:
        blocks.append(render_feedback_buttons(result.suggestion_id, language))
    if not blocks:
        blocks.append(section("…"))
    return truncate(result.answer or "…", FALLBACK_TEXT_LIMIT), blocks[:MESSAGE_BLOCK_LIMIT]


def render_approval_request(
    action: ActionView, proposer_user_id: str, origin: PendingBlockOrigin, language: str = "en"
) -> tuple[str, list[dict[str, Any]]]:
    """The DM an approver receives: who asks, where, and the same three buttons."""
    labels = labels_for(language)
    where = f" in <#{origin.origin_channel}>" if origin.origin_channel and origin.origin_channel.startswith("C") else ""
    header = f"🔔 <@{proposer_user_id}> {labels['approval_request']}{where}:"
    text = f"{header} {action_summary_text(action, language)}"
    return truncate(text, FALLBACK_TEXT_LIMIT), [section(header), *render_pending_action(action, origin, language)]


def render_decision_status(decision: str, user_id: str, language: str = "en") -> dict[str, Any]:
    labels = labels_for(language)
    word = {"approve": labels["approved"], "reject": labels["rejected"], "edit": labels["edited"]}.get(decision, decision)
    icon = {"approve": "✅", "reject": "🚫", "edit": "✏️"}.get(decision, "•")
    return context([f"{icon} {word} {labels['by']} <@{user_id}>"])


def replace_pending_buttons(
    blocks: list[dict[str, Any]], action_id: str, status_block: dict[str, Any]
) -> list[dict[str, Any]]:
    """The message as it was, with this action's button row swapped for who decided what (no double clicks)."""
    updated = []
    for block in blocks:
        parsed = PendingBlockOrigin.from_block_id(str(block.get("block_id") or ""))
        if block.get("type") == "actions" and parsed is not None and parsed.action_id == action_id:
            updated.append(status_block)
        else:
            updated.append(block)
    return updated


def render_edit_modal(state: EditModalState, args: dict[str, Any], summary: str = "") -> dict[str, Any]:
    """A modal with the proposal's arguments as editable JSON."""
    return {
        "type": "modal",
        "callback_id": EDIT_MODAL_CALLBACK_ID,
        "private_metadata": state.to_private_metadata(),
        "title": {"type": "plain_text", "text": "Edit proposal"},
        "submit": {"type": "plain_text", "text": "Approve edited"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(escape_mrkdwn(summary) or f"Action `{escape_mrkdwn(state.action_id)}`"),
            {
                "type": "input",
                "block_id": EDIT_MODAL_INPUT_BLOCK_ID,
                "label": {"type": "plain_text", "text": "Arguments (JSON)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": EDIT_MODAL_INPUT_ACTION_ID,
                    "multiline": True,
                    "initial_value": json.dumps(args, ensure_ascii=False, indent=2, default=str)[:3000],
                },
            },
        ],
    }
