"""Step 5, rendering: a QueryPlan becomes SQL through sqlglot expressions, in the layer's dialect."""

from __future__ import annotations

from sqlglot import exp

from tools.text2sql.models import SemanticLayer
from tools.text2sql.pipeline.joins import JoinEdge, JoinGraph
from tools.text2sql.pipeline.plan import AntiJoin, Condition, Having, Ordering, Output, QueryPlan


class RenderError(ValueError):
    """The plan cannot become SQL over this layer (no join path between two of its tables)."""


AGGREGATES = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max, "count": exp.Count}
COMPARISONS = {"=": exp.EQ, "!=": exp.NEQ, ">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE}


def render_plan(plan: QueryPlan, layer: SemanticLayer, graph: JoinGraph) -> str:
    """SQL text of the plan (with its compound side, if any)."""
    select = _select(plan, layer, graph)
    if plan.compound is None:
        return select.sql(dialect=layer.dialect)
    operator, other = plan.compound
    classes = {"intersect": exp.Intersect, "union": exp.Union, "except": exp.Except}
    combined = classes[operator](this=select, expression=_select(other, layer, graph), distinct=True)
    return combined.sql(dialect=layer.dialect)


def column(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table)


def _numeric(expression: exp.Expr, numeric: bool) -> exp.Expr:
    """Text columns holding numbers (stored_as) compare as numbers."""
    return exp.Cast(this=expression, to=exp.DataType.build("real")) if numeric else expression


def _literal(value: str | float | None) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, float | int):
        return exp.Literal.number(int(value) if float(value).is_integer() else value)
    return exp.Literal.string(value)


def _count_expression(plan: QueryPlan, output_table: str, layer: SemanticLayer, joined: int) -> exp.Expr:
    """COUNT(*) over one table; over joins, COUNT(DISTINCT key) so a row met twice through a join counts once."""
    key = layer.tables[output_table].primary_key if output_table in layer.tables else None
    if joined > 1 and key and key in layer.tables[output_table].columns and not plan.group_by:
        return exp.Count(this=exp.Distinct(expressions=[column(output_table, key)]))
    return exp.Count(this=exp.Star())


def _output(plan: QueryPlan, output: Output, layer: SemanticLayer, joined: int) -> exp.Expr:
    if output.kind == "star":
        return exp.Star()
    if output.kind == "count":
        return _count_expression(plan, output.table, layer, joined)
    target = column(output.table, output.column or "")
    if output.kind == "aggregate":
        if output.distinct:
            return exp.Count(this=exp.Distinct(expressions=[target]))
        return AGGREGATES[output.aggregation or "count"](this=target)
    return target


def condition_expression(condition: Condition, layer: SemanticLayer) -> exp.Expr:
    """One WHERE condition; `against_average` compares with the column's average over its table."""
    target = _numeric(column(condition.table, condition.column), condition.numeric)
    if condition.against_average:
        average = exp.select(exp.Avg(this=column(condition.table, condition.column))).from_(
            exp.to_table(condition.table))
        return COMPARISONS[condition.operator](this=target, expression=exp.Subquery(this=average))
    if condition.operator == "like":
        return exp.Like(this=target, expression=exp.Literal.string(str(condition.value)))
    if condition.operator == "between":
        return exp.Between(this=target, low=_literal(condition.value), high=_literal(condition.upper))
    return COMPARISONS[condition.operator](this=target, expression=_literal(condition.value))


def _having(having: Having) -> exp.Expr:
    if having.aggregation == "count" or not having.column:
        measure: exp.Expr = exp.Count(this=exp.Star())
    else:
        measure = AGGREGATES[having.aggregation](this=column(having.table or "", having.column))
    if having.operator == "between":
        return exp.Between(this=measure, low=_literal(having.number), high=_literal(having.upper))
    return COMPARISONS[having.operator](this=measure, expression=_literal(having.number))


def _ordering(ordering: Ordering) -> exp.Ordered:
    if ordering.kind == "count":
        expression: exp.Expr = exp.Count(this=exp.Star())
    elif ordering.kind == "aggregate":
        expression = AGGREGATES[ordering.aggregation or "sum"](this=column(ordering.table, ordering.column or ""))
    else:
        expression = column(ordering.table, ordering.column or "")
    return exp.Ordered(this=expression, desc=ordering.descending)


def _select(plan: QueryPlan, layer: SemanticLayer, graph: JoinGraph) -> exp.Select:
    tables = plan.needed_tables()
    edges = graph.connect(tables)
    if edges is None:
        raise RenderError(f"no join path between the tables {', '.join(tables)} in the semantic layer")
    joined = 1 + len(edges)
    select = exp.select(*[_output(plan, output, layer, joined) for output in plan.outputs])
    if plan.distinct or _existence_join(plan, graph, edges):
        select = select.distinct()
    select = select.from_(exp.to_table(plan.base))
    for edge in edges:
        condition = exp.EQ(this=column(edge.from_table, edge.from_column), expression=column(edge.to_table, edge.to_column))
        select = select.join(exp.to_table(edge.to_table), on=condition)
    conditions = [condition_expression(c, layer) for c in plan.conditions]
    conditions += [_anti_join(plan.base, anti, layer, graph) for anti in plan.anti_joins]
    if conditions:
        where = exp.or_(*conditions) if plan.any_condition and not plan.anti_joins else exp.and_(*conditions)
        select = select.where(where)
    if plan.group_by:
        select = select.group_by(*[column(t, c) for t, c in plan.group_by])
    if plan.having:
        select = select.having(_having(plan.having))
    for ordering in plan.order_by:
        select = select.order_by(_ordering(ordering))
    if plan.limit:
        select = select.limit(plan.limit)
    return select


def _existence_join(plan: QueryPlan, graph: JoinGraph, edges: list[JoinEdge]) -> bool:
    """A join to child rows that only says "has some" (no column of the child shown) would repeat rows."""
    if any(o.kind != "column" for o in plan.outputs) or plan.group_by or plan.limit:
        return False
    shown = {o.table for o in plan.outputs}
    return any(graph.is_to_many(edge) and edge.to_table not in shown for edge in edges)


def _anti_join(subject: str, anti: AntiJoin, layer: SemanticLayer, graph: JoinGraph) -> exp.Expr:
    """subject.key NOT IN (SELECT related.fk FROM related …): rows of the subject with no related row."""
    path = graph.path(anti.related, subject)
    if not path:
        raise RenderError(f"no join path between {subject} and {anti.related}")
    *inner, last = path
    inner_select = exp.select(column(last.from_table, last.from_column)).from_(exp.to_table(anti.related))
    for edge in inner:
        inner_select = inner_select.join(exp.to_table(edge.to_table), on=exp.EQ(
            this=column(edge.from_table, edge.from_column), expression=column(edge.to_table, edge.to_column)))
    for condition in anti.conditions:
        if condition.table not in {anti.related, *(e.to_table for e in inner)}:
            link = graph.path(anti.related, condition.table) or []
            for edge in link:
                inner_select = inner_select.join(exp.to_table(edge.to_table), on=exp.EQ(
                    this=column(edge.from_table, edge.from_column), expression=column(edge.to_table, edge.to_column)))
        inner_select = inner_select.where(condition_expression(condition, layer))
    inner_select = inner_select.where(exp.Not(this=exp.Is(this=column(last.from_table, last.from_column),
                                                          expression=exp.Null())))
    membership = exp.In(this=column(subject, last.to_column), query=inner_select.subquery())
    return exp.Not(this=membership) if anti.negated else membership
