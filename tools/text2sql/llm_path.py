"""LLM text-to-SQL: compact schema + semantic layer + similar solved examples, the same guard, a repair loop."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from prompts import load_prompt
from salesbot.llm import ModelUnavailableError, invoke_model
from tools.text2sql.examples import similar_examples
from tools.text2sql.executor import execute_read_only
from tools.text2sql.guard import guard_sql
from tools.text2sql.models import QueryResult, SemanticLayer

logger = logging.getLogger(__name__)

MAX_REPAIRS = 2
SQL_FENCE = re.compile(r"```(?:sql)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass
class LlmOutcome:
    """What the LLM path produced: rows, or a refusal by the guard, or a failure after repairs."""

    sql: str = ""
    result: QueryResult | None = None
    refused_reason: str | None = None
    failure: str | None = None
    attempts: int = 0


def compact_schema(layer: SemanticLayer) -> str:
    """One line per table (columns with roles and synonyms), then joins and named measures; kept short for small models."""
    lines = []
    for table_name, table in layer.tables.items():
        columns = []
        for column_name, column in table.columns.items():
            words = f" ~{'/'.join(column.synonyms[:3])}" if column.synonyms else ""
            columns.append(f"{column_name}:{column.role}{words}")
        synonyms = f" [{', '.join(table.synonyms[:4])}]" if table.synonyms else ""
        lines.append(f"{table_name}{synonyms}({'; '.join(columns)})")
    if layer.joins:
        lines.append("joins: " + ", ".join(f"{join.left} = {join.right}" for join in layer.joins))
    for measure in layer.measures:
        condition = f" WHERE {measure.condition}" if measure.condition else ""
        lines.append(f"measure {measure.name} [{', '.join(measure.synonyms[:4])}] = "
                     f"{measure.aggregation.upper()}({measure.expression}){condition}")
    return "\n".join(lines)


def extract_sql(text: str) -> str:
    """The SQL inside a fenced block, or the whole reply when there is no fence."""
    match = SQL_FENCE.search(text)
    return (match.group(1) if match else text).strip().rstrip(";").strip()


def answer_with_llm(llm: Any, question: str, layer: SemanticLayer, db_url: str, row_cap: int) -> LlmOutcome:
    """Ask the model for SQL, guard it, run it; on an error show the model the error (at most MAX_REPAIRS times).

    The model is called through salesbot.llm.invoke_model: llama.cpp calls take turns with the agent's,
    and an unreachable or too slow server is a ModelUnavailableError, answered by the rules instead.
    """
    schema = compact_schema(layer)
    examples = similar_examples(question, layer.name)
    examples_text = "\n".join(f"Q: {example.question}\nSQL: {example.sql}" for example in examples) or "(none)"
    prompt = load_prompt("sql").format(dialect=layer.dialect, schema=schema, examples=examples_text, question=question)
    outcome = LlmOutcome()
    for attempt in range(MAX_REPAIRS + 1):
        outcome.attempts = attempt + 1
        try:
            reply = invoke_model(llm, prompt)
        except ModelUnavailableError as error:
            logger.warning("LLM call failed: %s", error)
            outcome.failure = "the language model did not answer"
            return outcome
        except Exception:  # a backend bug: the rules still answer, the details go to the log
            logger.exception("LLM call raised")
            outcome.failure = "the language model did not answer"
            return outcome
        sql = extract_sql(reply.text)
        outcome.sql = sql
        verdict = guard_sql(sql, layer, limit_cap=row_cap)
        if not verdict.allowed and verdict.unsafe:
            outcome.refused_reason = verdict.reason
            return outcome
        if verdict.allowed:
            try:
                outcome.sql = verdict.sql
                outcome.result = execute_read_only(db_url, verdict.sql, row_cap=row_cap)
                outcome.failure = None
                return outcome
            except Exception as error:  # the database's message is what the repair prompt needs
                error_text = str(error).splitlines()[0][:300]
        else:
            error_text = verdict.reason
        outcome.failure = error_text
        logger.info("LLM SQL failed (attempt %d): %s", attempt + 1, error_text)
        prompt = load_prompt("sql_repair").format(question=question, sql=sql, error=error_text, schema=schema)
    return outcome
