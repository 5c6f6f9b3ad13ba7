"""answer_data_question: role check, write-request refusal, SQL (rules or LLM), guard, read-only run, chart."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import date
from typing import Any

from salesbot import clock
from salesbot.input_limits import input_too_long, log_prefix, max_input_chars, too_long_message
from salesbot.roles import UnknownRoleError, normalize_role
from salesbot.settings import get_settings
from salesbot.text import detect_language
from tools.text2sql import lexicon
from tools.text2sql.charts import render_chart
from tools.text2sql.compiler import CannotCompileError, CompiledQuery
from tools.text2sql.context import DatabaseContext, EmptyDatabaseError, database_context
from tools.text2sql.executor import DatabaseMissingError, QueryTimeoutError, execute_read_only, sqlite_path
from tools.text2sql.guard import LIMIT_CAP, guard_sql
from tools.text2sql.models import GuardVerdict, QueryResult, SqlAnswer

logger = logging.getLogger(__name__)

SQL_START = re.compile(
    r"^\s*(?:(?:/\*.*?\*/|--[^\n]*(?:\n|$)|\()\s*)*(select|with|pragma|attach|detach|insert|update|delete|drop|create|alter|vacuum|"
    r"replace|begin|commit|rollback|explain|analyze|reindex|savepoint|release|values)\b",
    re.IGNORECASE | re.DOTALL,
)


def fold_look_alikes(text: str) -> str:
    """NFKC (full-width → ASCII) and Cyrillic/Greek look-alikes → Latin, zero-width characters dropped."""
    return unicodedata.normalize("NFKC", text).translate(lexicon.CONFUSABLES)


def _say(question: str, english: str, chinese: str) -> str:
    return chinese if detect_language(question) == "zh" else english


def is_write_request(question: str) -> bool:
    """True for natural-language requests to change data (删除/修改/把…改成/delete/update/drop/insert…)."""
    text = lexicon.WRITE_WORDS_IN_NOUNS.sub(" ", fold_look_alikes(question))
    return bool(lexicon.WRITE_REQUEST.search(text))


def answer_data_question(
    question: str,
    role: str,
    db_url: str | None = None,
    chart_path: str | None = None,
    llm: Any = None,
    *,
    today: date | None = None,
    row_cap: int = LIMIT_CAP,
    make_chart: bool = True,
) -> SqlAnswer:
    """Answer a manager's data question with read-only SQL: a table, the SQL behind it, and a chart when useful.

    Args:
        question: the question in Chinese or English ("哪个区域上季度成交额最高?", "monthly revenue in 2025").
        role: the asker's role; only roles in settings.data_question_roles may ask.
        db_url: SQLAlchemy URL; default is the product's own sales database.
        chart_path: where to write a PNG chart; default SALESBOT_HOME/charts/<hash>.png when the shape suits.
        llm: optional LangChain chat model; without it the rule-based compiler answers.
    """
    settings = get_settings()
    try:
        normalized_role = normalize_role(role)
    except UnknownRoleError:
        normalized_role = role
    if normalized_role not in settings.data_question_roles:
        allowed = ", ".join(settings.data_question_roles)
        return SqlAnswer(refused=True, message=_say(
            question,
            f"Data questions are open to these roles only: {allowed}. Your role ({role}) cannot ask them; "
            "please ask your manager.",
            f"数据查询仅对以下角色开放：{allowed}。你的角色（{role}）无权查询，请联系你的经理。"))
    if not question or not question.strip():
        return SqlAnswer(refused=True, message=_say(question, "Please ask a question.", "请输入问题。"))
    if input_too_long(question):
        # Before folding, parsing or compiling anything: a long text costs time in every later step.
        logger.info("data question refused: %d chars: %s", len(question), log_prefix(question))
        return SqlAnswer(refused=True, message=too_long_message(len(question), max_input_chars()))
    folded = fold_look_alikes(question)
    if folded != unicodedata.normalize("NFKC", question) and (SQL_START.match(folded) or is_write_request(folded)):
        return SqlAnswer(refused=True, message=_say(
            question, "The text uses look-alike characters from other alphabets; type plain letters.",
            "输入中含有外形相似的其他文字字符，请使用普通字母。"))
    typed_sql = SQL_START.match(folded)
    if typed_sql and (typed_sql.group(1).lower() in ("select", "with") or not is_write_request(folded)):
        # A typed SELECT (or PRAGMA, ATTACH…) goes to the guard, which refuses all but one read statement;
        # "Delete all opportunities…" is a write request in words and gets the plain refusal below.
        url = db_url or settings.sales_database_url
        if db_url is None and settings.database_url is not None and _shared_database_is_unseeded(url):
            return _empty_database_answer(question, url, True)
        return _answer_typed_sql(question, url, chart_path if make_chart else None, row_cap, make_chart)
    if lexicon.INJECTION.search(folded):
        return SqlAnswer(refused=True, message=_say(
            question, "This looks like SQL spliced into a question; ask in words, or type one SELECT on its own.",
            "问题中混入了 SQL 语句；请用文字提问，或单独输入一条 SELECT。"))
    if is_write_request(question):
        return SqlAnswer(refused=True, message=_say(
            question,
            "I only read data: requests to delete, change or add records are refused. "
            "Use the CRM (or ask me to propose a follow-up task) to change data.",
            "我只能读取数据，不能删除、修改或新增记录。需要改数据请在 CRM 中操作（或让我提议一个跟进任务）。"))
    url = db_url or settings.sales_database_url
    # Before any layer is looked for: on the server profile an unseeded shared database holds only the product's
    # own tables, and a layer drafted over those would answer from chunks, checkpoints and audit rows.
    if db_url is None and _sales_database_is_empty(url, shared=settings.database_url is not None):
        return _empty_database_answer(question, url, True)
    try:
        context = database_context(url, layers_dir=settings.home_dir / "semantic_layers", today=today or clock.today())
    except (DatabaseMissingError, EmptyDatabaseError):
        return _empty_database_answer(question, url, db_url is None)
    except Exception as error:  # unreachable server, bad URL: say so without a traceback
        _log_failure("cannot open database %s", url)
        return SqlAnswer(message=_say(question, f"I could not open the database ({type(error).__name__}). "
                                      "Check the --db URL.", f"无法打开数据库（{type(error).__name__}），请检查 --db 地址。"))

    notes: list[str] = []
    compiled, verdict, rules_problem = _compile_with_rules(context, question, row_cap)
    if llm is not None and (compiled is None or compiled.unsure):
        # The model is asked only where the rules failed or doubt their reading; their SQL stays the fallback.
        from tools.text2sql.llm_path import answer_with_llm

        outcome = answer_with_llm(llm, question, context.layer, url, row_cap, value_index=context.value_index)
        if outcome.refused_reason:
            return SqlAnswer(sql=outcome.sql, refused=True, method="llm", message=_say(
                question, f"The generated SQL was refused by the read-only guard: {outcome.refused_reason}.",
                f"生成的 SQL 被只读防护拒绝：{outcome.refused_reason}。"))
        if outcome.result is not None:
            return _finish(question, outcome.sql, outcome.result, chart_path, "llm", notes, make_chart)
        notes.append(f"the model's SQL failed after {outcome.attempts} tries ({outcome.failure}); used the rules instead")
    if compiled is None or verdict is None:
        return _cannot_answer(question, rules_problem, notes)
    if compiled.explanation:
        notes.append(compiled.explanation)
    try:
        result = execute_read_only(url, verdict.sql, row_cap=row_cap)
    except QueryTimeoutError as error:
        return SqlAnswer(sql=verdict.sql, method="rules", message=f"The query took too long: {error}.")
    except Exception:
        _log_failure("query failed: %s", log_prefix(verdict.sql, 2000))
        return SqlAnswer(sql=verdict.sql, method="rules", message=_say(
            question, "The query failed on the database; try rephrasing.", "查询执行失败，请换个说法。"))
    return _finish(question, verdict.sql, result, chart_path, "rules", notes, make_chart)


def _compile_with_rules(context: DatabaseContext, question: str, row_cap: int,
                        ) -> tuple[CompiledQuery | None, GuardVerdict | None, str]:
    """(compiled query, guard verdict, "") when the rules produced SQL the guard allows; else (None, None, why)."""
    try:
        compiled = context.compiler.compile(question)
    except CannotCompileError as error:
        return None, None, str(error)
    except Exception:  # a rule bug must not become a traceback in chat
        _log_failure("rule compiler failed on %r", log_prefix(question))
        return None, None, "the rules could not read it"
    verdict = guard_sql(compiled.sql, context.layer, limit_cap=row_cap)
    if not verdict.allowed:
        logger.error("guard refused compiler output %s: %s", log_prefix(compiled.sql, 2000), verdict.reason)
        return None, None, verdict.reason
    return compiled, verdict, ""


def _log_failure(message: str, *args: Any) -> None:
    """Details (with traceback) go to the debug log; the warning line never carries a traceback to the terminal."""
    logger.warning(message, *args)
    logger.debug(message, *args, exc_info=True)


def _answer_typed_sql(sql: str, url: str, chart_path: str | None, row_cap: int, make_chart: bool) -> SqlAnswer:
    """A manager may type SQL directly: it goes through the same guard and read-only connection."""
    try:
        context = database_context(url, layers_dir=get_settings().home_dir / "semantic_layers")
    except (DatabaseMissingError, EmptyDatabaseError):
        return _empty_database_answer(sql, url, False)
    verdict = guard_sql(sql, context.layer, limit_cap=row_cap)
    if not verdict.allowed:
        return SqlAnswer(refused=True, method="sql", message=f"This SQL is not allowed: {verdict.reason}. "
                         "Only one read-only SELECT over the known tables can run.")
    try:
        result = execute_read_only(url, verdict.sql, row_cap=row_cap)
    except QueryTimeoutError as error:
        return SqlAnswer(sql=verdict.sql, method="sql", message=f"The query took too long: {error}.")
    except Exception as error:
        logger.info("typed SQL failed: %s", error)
        refused = "not authorized" in str(error).lower()
        return SqlAnswer(sql=verdict.sql, method="sql", refused=refused,
                         message=f"The database rejected the query: {str(error).splitlines()[0][:200]}")
    return _finish(sql, verdict.sql, result, chart_path, "sql", [], make_chart)


def _finish(question: str, sql: str, result: QueryResult, chart_path: str | None, method: str,
            notes: list[str], make_chart: bool = True) -> SqlAnswer:
    chart = None
    if make_chart:
        try:
            target = chart_path or str(get_settings().home_dir / "charts" / f"{hashlib.sha1(sql.encode()).hexdigest()[:12]}.png")
            chart = render_chart(result.columns, result.rows, target, title=question)
        except Exception:  # a chart is a bonus; the table still answers
            _log_failure("chart failed: %s", log_prefix(question))
    rows = [[_plain(value) for value in row] for row in result.rows]
    if not rows:
        message = _say(question, "No rows matched.", "没有符合条件的数据。")
    elif len(rows) == 1 and len(rows[0]) == 1:
        message = _say(question, f"Answer: {rows[0][0]}", f"结果：{rows[0][0]}")
    else:
        message = _say(question, f"{len(rows)} rows.", f"共 {len(rows)} 行。")
    if result.truncated:
        message += _say(question, f" (first {len(rows)} rows only)", f"（仅显示前 {len(rows)} 行）")
    if notes:
        message += " Note: " + "; ".join(notes)
    return SqlAnswer(sql=sql, columns=result.columns, rows=rows, chart=chart, message=message,
                     method=method, truncated=result.truncated)  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    """JSON-friendly cell values (Decimal, dates and bytes become numbers or strings; float noise rounded)."""
    if isinstance(value, float):
        return round(value, 10)
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "is_finite") and hasattr(value, "as_tuple"):  # Decimal
        return round(float(value), 10)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _cannot_answer(question: str, reason: str, notes: list[str]) -> SqlAnswer:
    extra = (" Note: " + "; ".join(notes)) if notes else ""
    return SqlAnswer(method="none", message=_say(
        question,
        f"I could not turn this into a query ({reason}). Try naming a measure, a dimension and a filter, "
        "e.g. 'revenue by region in 2025' or 'top 5 customers by revenue'." + extra,
        f"无法把这个问题转换为查询（{reason}）。请说明指标、维度和筛选条件，例如“2025年各区域成交额”或“成交额前5的客户”。" + extra))


def _sales_database_is_empty(url: str, shared: bool = False) -> bool:
    """Whether the configured sales database has no deals; `shared`: it is the server profile's one database."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return True
    if shared and _shared_database_is_unseeded(url):
        return True
    try:
        result = execute_read_only(url, "SELECT COUNT(*) FROM deals", row_cap=1)
        return not result.rows or not result.rows[0][0]
    except Exception:  # no deals table: not the sales schema, let the layer decide
        return False


def _shared_database_is_unseeded(url: str) -> bool:
    """The server profile's database (SALESBOT_DATABASE_URL) also holds every internal table of the product, so
    there a missing deals table means `salesbot seed` has not run; a layer must never be drafted over the rest."""
    from sqlalchemy import inspect

    from salesbot.database import engine_for

    try:
        return not inspect(engine_for(url)).has_table("deals")
    except Exception:  # unreachable server: opening the database context says so
        return False


def _empty_database_answer(question: str, url: str, is_sales_database: bool) -> SqlAnswer:
    hint_en = " Run `salesbot seed` to load the sample company." if is_sales_database else ""
    hint_zh = "请先运行 `salesbot seed` 导入示例数据。" if is_sales_database else ""
    path = sqlite_path(url)
    where = str(path) if path else url.split("@")[-1]
    return SqlAnswer(message=_say(question, f"The database at {where} is missing or empty.{hint_en}",
                                  f"数据库 {where} 不存在或为空。{hint_zh}"))

