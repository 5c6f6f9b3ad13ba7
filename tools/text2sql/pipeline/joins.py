"""Step 4, joins: the shortest join path over the layer's joins that connects every table a plan needs."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from tools.text2sql.models import SemanticLayer


@dataclass(frozen=True)
class JoinEdge:
    """Join `to_table` to a query that already holds `from_table`, on from_table.from_column = to_table.to_column."""

    from_table: str
    from_column: str
    to_table: str
    to_column: str


class JoinGraph:
    """The layer's joins as an undirected graph; edges keep which side is the referenced (parent) key."""

    def __init__(self, layer: SemanticLayer) -> None:
        self.layer = layer
        self.edges: dict[str, list[JoinEdge]] = {name: [] for name in layer.tables}
        for join in layer.joins:
            left_table, left_column = join.left.split(".", 1)
            right_table, right_column = join.right.split(".", 1)
            if left_table not in layer.tables or right_table not in layer.tables:
                continue
            self.edges[left_table].append(JoinEdge(left_table, left_column, right_table, right_column))
            self.edges[right_table].append(JoinEdge(right_table, right_column, left_table, left_column))

    def path(self, start: str, goal: str) -> list[JoinEdge] | None:
        """Edges from start to goal, breadth first (fewest joins); [] when start is goal, None when unreachable."""
        if start == goal:
            return []
        queue: deque[tuple[str, list[JoinEdge]]] = deque([(start, [])])
        seen = {start}
        while queue:
            table, path = queue.popleft()
            for edge in self.edges.get(table, []):
                if edge.to_table in seen:
                    continue
                if edge.to_table == goal:
                    return [*path, edge]
                seen.add(edge.to_table)
                queue.append((edge.to_table, [*path, edge]))
        return None

    def connect(self, tables: list[str]) -> list[JoinEdge] | None:
        """Edges joining all `tables` to the first one: each next table by its shortest path from any joined table."""
        if not tables:
            return []
        joined = {tables[0]}
        edges: list[JoinEdge] = []
        for table in tables[1:]:
            if table in joined:
                continue
            best: list[JoinEdge] | None = None
            for source in sorted(joined):
                candidate = self.path(source, table)
                if candidate is not None and (best is None or len(candidate) < len(best)):
                    best = candidate
            if best is None:
                return None
            for edge in best:
                if edge.to_table not in joined:
                    edges.append(edge)
                    joined.add(edge.to_table)
        return edges

    def is_to_many(self, edge: JoinEdge) -> bool:
        """True when each from_table row may meet several to_table rows (the join reaches a child table)."""
        primary = self.layer.tables[edge.from_table].primary_key
        other = self.layer.tables[edge.to_table].primary_key
        return edge.from_column == primary and edge.to_column != other

    def reference(self, child: str, parent: str) -> JoinEdge | None:
        """The direct edge from child to parent, if any (child's foreign key to the parent's key)."""
        for edge in self.edges.get(child, []):
            if edge.to_table == parent:
                return edge
        return None
