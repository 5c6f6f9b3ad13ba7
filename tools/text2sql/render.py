"""Plain renderings of a data answer for chat connectors: a Markdown table with the SQL underneath."""

from __future__ import annotations

from tools.text2sql.models import SqlAnswer

MAX_CHAT_ROWS = 20


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def answer_as_markdown(answer: SqlAnswer, max_rows: int = MAX_CHAT_ROWS) -> str:
    """The message, a Markdown table (first `max_rows` rows) and the SQL in a code block."""
    parts = [answer.message] if answer.message else []
    if answer.columns and answer.rows:
        lines = ["| " + " | ".join(_cell(column) for column in answer.columns) + " |",
                 "|" + "---|" * len(answer.columns)]
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in answer.rows[:max_rows]]
        if len(answer.rows) > max_rows:
            lines.append(f"… {len(answer.rows) - max_rows} more rows")
        parts.append("\n".join(lines))
    if answer.sql:
        parts.append(f"```sql\n{answer.sql}\n```")
    return "\n\n".join(parts)


def _fixed_width_table(columns: list[str], rows: list[list[object]]) -> str:
    cells = [[str(column) for column in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(columns))]
    lines = ["  ".join(value.ljust(widths[index]) for index, value in enumerate(row)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def answer_as_blocks(answer: SqlAnswer, max_rows: int = MAX_CHAT_ROWS) -> list[dict]:
    """Slack Block Kit: the message, the table as a preformatted block, the SQL as context."""
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": answer.message or " "}}]
    if answer.columns and answer.rows:
        table = _fixed_width_table(answer.columns, answer.rows[:max_rows])
        if len(answer.rows) > max_rows:
            table += f"\n… {len(answer.rows) - max_rows} more rows"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{table[:2900]}```"}})
    if answer.sql:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{answer.sql[:2900]}`"}]})
    return blocks
