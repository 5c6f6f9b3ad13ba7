"""Data-question tool: managers ask in Chinese or English, get a table, the SQL behind it and a chart."""

from __future__ import annotations

from typing import Any

from tools.text2sql.models import SqlAnswer


def answer_data_question(
    question: str, role: str, db_url: str | None = None, chart_path: str | None = None, llm: Any = None
) -> SqlAnswer:
    """Answer a data question about the sales database with one read-only SQL query.

    Use for numbers, rankings, trends and lookups over customers, products, deals and opportunities, e.g.
    "哪个区域上季度成交额最高?", "monthly revenue in 2025 vs 2024", "top 5 customers by revenue",
    "customers who never bought QM-X3". Only roles in settings.data_question_roles (manager and above)
    may ask; requests to change data are refused. Returns the SQL, the columns and rows, a chart path
    (PNG) when a chart helps, `refused`, and a message for the user.
    """
    from tools.text2sql.service import answer_data_question as answer

    return answer(question, role, db_url=db_url, chart_path=chart_path, llm=llm)


TOOLS = [answer_data_question]
