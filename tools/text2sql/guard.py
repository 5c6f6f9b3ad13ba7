"""SQL guard: one read-only SELECT over known tables and columns, allowlisted functions, LIMIT enforced."""

from __future__ import annotations

import re
import unicodedata

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tools.text2sql.models import GuardVerdict, SemanticLayer

LIMIT_CAP = 1000

# Functions a reporting query needs. Anything else (load_extension, readfile, randomblob, sleep…) is refused.
ALLOWED_FUNCTIONS = {
    "count", "sum", "if", "case", "paren", "concat_ws", "avg", "min", "max", "total", "group_concat", "string_agg",
    "round", "abs", "coalesce", "ifnull", "nullif", "lower", "upper", "length", "trim", "ltrim", "rtrim",
    "substr", "substring", "replace", "instr", "cast", "strftime", "date", "datetime", "julianday",
    "date_trunc", "extract", "to_char", "year", "month", "quarter", "day", "concat", "iif",
    "timetostr", "strtotime", "tsordstodate", "datestrtodate", "timestrtotime", "tsordstotime", "dpipe",
    "floor", "ceil", "ceiling", "printf", "format", "distinct", "countif", "stddev", "variance",
    "median", "rank", "row_number", "dense_rank", "lag", "lead", "first_value", "last_value", "ntile",
    "percentile_cont", "currentdate", "current_date", "current_timestamp", "currenttimestamp", "now",
    "safedivide", "div", "tsordstotimestamp", "strtodate", "todate", "tochar", "intdiv", "greatest", "least", "trycast", "try_cast", "yearofweek", "dateadd",
    "datesub", "datediff", "date_add", "date_sub", "trunc", "mod", "power", "pow", "sqrt", "sign",
}
# Functions that build a value as large as a number in the query asks for: refused by name, whatever the
# allowlist says, so one query cannot make SQLite allocate gigabytes (the executor also caps value length).
MEMORY_HUNGRY_FUNCTIONS = {"zeroblob", "randomblob", "replicate", "repeat", "space", "lpad", "rpad", "pad",
                           "unhex", "char_repeat"}
# printf/format: the format must be a literal with no `*` width or precision and no width above this.
MAX_FORMAT_WIDTH = 100
_FORMAT_SPEC = re.compile(r"%[-+ 0#,!]*(\*|\d+)?(?:\.(\*|\d+))?")
FORBIDDEN_NODES = (
    exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter, exp.Command, exp.Merge,
    exp.TruncateTable, exp.Pragma, exp.Attach, exp.Detach, exp.Into, exp.Transaction, exp.Commit,
    exp.Rollback, exp.Set, exp.Use, exp.Copy, exp.LoadData, exp.Grant,
)
READ_ROOTS = (exp.Select, exp.Union, exp.Except, exp.Intersect, exp.Subquery)
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|drop|alter|create|replace|truncate|attach|detach|pragma|vacuum|reindex|grant|"
    r"revoke|load_extension|writefile|readfile|merge|upsert|copy)\b",
    re.IGNORECASE,
)


def _refuse(reason: str, unsafe: bool = True) -> GuardVerdict:
    return GuardVerdict(allowed=False, reason=reason, unsafe=unsafe)


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if hasattr(node, "sql_name") else node.key.lower()


def guard_sql(sql: str, layer: SemanticLayer, dialect: str | None = None, limit_cap: int = LIMIT_CAP) -> GuardVerdict:
    """Check a SQL text and return it rewritten with an enforced LIMIT, or a refusal with a reason."""
    dialect = dialect or layer.dialect
    normalized = unicodedata.normalize("NFKC", sql or "").strip()
    if normalized != (sql or "").strip():
        return _refuse("the SQL contains look-alike or full-width characters; type plain ASCII SQL")
    if not normalized:
        return _refuse("empty SQL")
    if "\x00" in normalized:
        return _refuse("the SQL contains a NUL character")
    try:
        statements = [statement for statement in sqlglot.parse(normalized, read=dialect) if statement is not None]
    except SqlglotError as error:
        return _refuse(f"the SQL could not be parsed ({str(error).splitlines()[0][:120]})", unsafe=False)
    if len(statements) != 1:
        return _refuse("only one statement is allowed")
    tree = statements[0]
    if not isinstance(tree, READ_ROOTS):
        return _refuse(f"only SELECT (or WITH … SELECT) is allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            return _refuse(f"{node.key.upper()} is not allowed in a read-only question")
        if isinstance(node, exp.Func) and not isinstance(node, (exp.Connector, exp.Binary, exp.Unary, exp.Star, exp.Column)):
            name = _function_name(node)
            if name in MEMORY_HUNGRY_FUNCTIONS or node.key.lower() in MEMORY_HUNGRY_FUNCTIONS:
                return _refuse(f"function {name} is not allowed (it can build arbitrarily large values)")
            if name.replace("_", "") not in ALLOWED_FUNCTIONS and node.key.lower() not in ALLOWED_FUNCTIONS:
                return _refuse(f"function {name} is not allowed")
            if name in ("printf", "format") or node.key.lower() in ("printf", "format"):
                problem = _format_problem(node)
                if problem:
                    return _refuse(problem)
    problem = _unknown_names(tree, layer)
    if problem:
        return _refuse(problem, unsafe=False)
    truncated = _enforce_limit(tree, limit_cap)
    rendered = tree.sql(dialect=dialect, comments=False)
    # Defence in depth: a write keyword that survived as an identifier or hint is still refused.
    for match in _WRITE_WORDS.finditer(_strip_string_literals(rendered)):
        if match.group(1).lower() not in _column_and_table_words(layer):
            return _refuse(f"{match.group(1).upper()} is not allowed")
    return GuardVerdict(allowed=True, sql=rendered, truncated_limit=truncated)


def _format_problem(node: exp.Func) -> str | None:
    """printf/format may only pad to small widths: `printf('%.*c', 999999999, 'x')` would allocate a gigabyte."""
    arguments = [node.this] if not isinstance(node, exp.Anonymous) else []
    arguments += list(node.expressions or [])
    pattern = arguments[0] if arguments else None
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return "printf/format needs a literal format string"
    for match in _FORMAT_SPEC.finditer(pattern.this):
        for size in match.groups():
            if size == "*":
                return "printf/format widths must be written in the format, not taken from an argument (*)"
            if size is not None and int(size) > MAX_FORMAT_WIDTH:
                return f"printf/format widths above {MAX_FORMAT_WIDTH} are not allowed"
    return None


def _strip_string_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _column_and_table_words(layer: SemanticLayer) -> set[str]:
    words = set(layer.tables)
    for table in layer.tables.values():
        words.update(table.columns)
    return {word.lower() for word in words}


def _unknown_names(tree: exp.Expression, layer: SemanticLayer) -> str | None:
    """Tables must be in the layer (or CTEs); columns must exist in some referenced table or be aliases."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    known_tables = {name.lower(): name for name in layer.tables}
    referenced: set[str] = set()
    for table in tree.find_all(exp.Table):
        if table.args.get("db") or table.args.get("catalog"):
            return f"schema-qualified table {table.sql()} is not allowed"
        name = table.name.lower()
        if name in cte_names:
            continue
        if name not in known_tables:
            return f"table {table.name} is not part of the semantic layer"
        referenced.add(known_tables[name])
    aliases = {alias.alias.lower() for alias in tree.find_all(exp.Alias)}
    aliases |= {table.alias.lower() for table in tree.find_all(exp.Table) if table.alias}
    aliases |= {sub.alias.lower() for sub in tree.find_all(exp.Subquery) if sub.alias}
    all_columns = {column.lower() for spec in layer.tables.values() for column in spec.columns}
    has_cte_or_subquery = bool(cte_names) or any(sub.alias for sub in tree.find_all(exp.Subquery))
    for column in tree.find_all(exp.Column):
        name = column.name.lower()
        if not name:
            return "empty column name"
        if name in aliases:
            continue
        if name not in all_columns and not has_cte_or_subquery:
            return f"column {column.name} is not part of the semantic layer"
        qualifier = column.table.lower()
        if qualifier and qualifier not in aliases and qualifier not in known_tables and qualifier not in cte_names:
            return f"table {column.table} is not part of the query"
        if qualifier in known_tables and name not in {c.lower() for c in layer.tables[known_tables[qualifier]].columns}:
            return f"column {column.table}.{column.name} does not exist"
    return None


def _enforce_limit(tree: exp.Expression, limit_cap: int) -> bool:
    """Add or lower the outer LIMIT; True when a larger requested LIMIT was cut."""
    limit = tree.args.get("limit")
    if limit is None:
        tree.set("limit", exp.Limit(expression=exp.Literal.number(limit_cap)))
        return False
    value = limit.expression
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= limit_cap:
        return False
    tree.set("limit", exp.Limit(expression=exp.Literal.number(limit_cap)))
    return True
