"""The question as the planner walks it: links and cues in order, and how to step from one to its neighbours."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.text2sql.models import SemanticLayer
from tools.text2sql.pipeline.intent import Cue, Intent
from tools.text2sql.pipeline.joins import JoinGraph
from tools.text2sql.pipeline.linking import Link, SchemaTarget

# Words allowed between a cue and the schema word it governs ("the most number of", "at least two types of").
FILLER = frozenset("the a an of number num count kinds kind types type different distinct all any some its their "
                   "his her our in on for by to with from that which who is are was were been be has have had do does "
                   "did times time amount total s 的 个 位 家 只 种 条 名 门 部 了 被 有 份 次 件 篇 段 本 张 类 项 台 所 "
                   "间 座 套 都 里 中 过 任 何 一 之 为 是 叫 号".split())


@dataclass
class Item:
    """A link or a cue, in question order; `used` marks what a rule has consumed."""

    start: int
    end: int
    link: Link | None = None
    cue: Cue | None = None
    used: bool = False
    role: str = ""
    choice: SchemaTarget | None = None


@dataclass
class Reading:
    """The question's items plus the planner's decisions so far."""

    text: str
    items: list[Item]
    layer: SemanticLayer
    graph: JoinGraph
    doubts: list[str] = field(default_factory=list)

    def words_between(self, left: int, right: int) -> list[str]:
        return re.findall(r"[a-z0-9']+|[\u3400-\u9fff]", self.text[left:right]) if right > left else []

    def only_filler(self, left: int, right: int, extra: frozenset[str] = frozenset()) -> bool:
        return all(word in FILLER or word in extra for word in self.words_between(left, right))

    def cues(self, *kinds: str) -> list[Item]:
        return [i for i in self.items if i.cue is not None and i.cue.kind in kinds]

    def schema_items(self) -> list[Item]:
        return [i for i in self.items if i.link is not None and i.link.kind == "schema"]

    def next_schema(self, item: Item, extra: frozenset[str] = frozenset(), skip_cues: tuple[str, ...] = ()) -> Item | None:
        """The first schema item after `item` with only filler words (and skippable cues) in between."""
        position = item.end
        for other in self.items:
            if other.start < item.end:
                continue
            if other.cue is not None and other.cue.kind in (*skip_cues, "distinct"):
                if self.only_filler(position, other.start, extra):
                    position = max(position, other.end)
                continue
            if not self.only_filler(position, other.start, extra):
                return None
            if other.link is not None and other.link.kind == "schema":
                return other
            if other.cue is not None:
                position = other.end
                continue
            return None
        return None

    def previous_schema(self, item: Item) -> Item | None:
        candidates = [o for o in self.schema_items() if o.end <= item.start]
        if candidates and self.only_filler(candidates[-1].end, item.start):
            return candidates[-1]
        return None

    def previous_schema_across(self, item: Item, gaps: tuple[str, ...]) -> Item | None:
        candidates = [o for o in self.schema_items() if o.end <= item.start]
        if candidates and " ".join(self.words_between(candidates[-1].end, item.start)) in gaps:
            return candidates[-1]
        return None


def build_items(text: str, links: list[Link], intent: Intent) -> list[Item]:
    """Links and cues in one ordered list; a cue inside a linked phrase ("first" in "first name") is dropped,
    and a linked value inside a substring cue ("containing 'West'") is the cue's text, not a filter."""
    likes = intent.of("like")
    kept_links = [link for link in links if not (link.kind in ("value", "literal", "number") and any(
        c.start <= link.start and link.end <= c.end for c in likes))]
    kept_links = [link for link in kept_links if not (link.kind == "number" and any(
        c.start <= link.start < c.end for c in intent.of("compare", "between", "limit")))]
    items = [Item(link.start, link.end, link=link) for link in kept_links]
    cues = [cue for cue in intent.cues if not any(
        other is not cue and other.start <= cue.start and cue.end <= other.end and (other.end - other.start) > (
            cue.end - cue.start) for other in intent.cues)]  # "number of" inside "the most number of"
    for cue in cues:
        inside = any(link.start <= cue.start and cue.end <= link.end and link.kind in ("schema", "value", "literal")
                     for link in kept_links)
        overlaps_like = cue.kind != "like" and any(c.start <= cue.start < c.end for c in likes)
        if not inside and not overlaps_like:
            items.append(Item(cue.start, cue.end, cue=cue))
    return sorted(items, key=lambda item: (item.start, item.link is None))
