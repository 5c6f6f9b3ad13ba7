"""The pipeline run end to end: intent → linking → plan → joins → SQL, with a confidence the caller can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.text2sql import lexicon
from tools.text2sql.models import SemanticLayer
from tools.text2sql.pipeline.intent import parse_intent
from tools.text2sql.pipeline.joins import JoinGraph
from tools.text2sql.pipeline.linking import QuestionLinker, SchemaLexicon
from tools.text2sql.pipeline.plan import QueryPlan
from tools.text2sql.pipeline.planner import PlanError, Planner
from tools.text2sql.pipeline.reading import Reading, build_items
from tools.text2sql.pipeline.render import render_plan
from tools.text2sql.values import ValueIndex

# Spider-style questions carry a few verbs no step needs ("went through", "offer"); more than this many
# unread content words means the reading probably missed something.
UNREAD_WORDS_TOLERATED = 3
# The planner relates every cue to the links near it (quadratic in the worst case); a data question is a
# sentence or two, so longer texts are left to the layer planner, which is linear.
PIPELINE_MAX_CHARS = 1000


@dataclass
class PipelineOutcome:
    """SQL from the pipeline, the plan behind it, and why it might be wrong (empty when sure)."""

    sql: str
    plan: QueryPlan
    doubts: list[str] = field(default_factory=list)

    @property
    def unsure(self) -> bool:
        return bool(self.doubts)


class PipelineCompiler:
    """One layer's lexicon and join graph, built once; `compile` runs the steps for one question."""

    def __init__(self, layer: SemanticLayer, value_index: ValueIndex) -> None:
        self.layer = layer
        self.values = value_index
        self.lexicon = SchemaLexicon(layer)
        self.graph = JoinGraph(layer)

    def compile(self, question: str) -> PipelineOutcome:
        if len(question) > PIPELINE_MAX_CHARS:
            raise PlanError(f"the question is longer than {PIPELINE_MAX_CHARS} characters")
        linker = QuestionLinker(self.lexicon, self.values, question)
        links = linker.link()
        intent = parse_intent(linker.lower, linker.text)
        reading = Reading(linker.lower, build_items(linker.lower, links, intent), self.layer, self.graph)
        plan = Planner(reading).build()
        sql = render_plan(plan, self.layer, self.graph)
        doubts = list(plan.doubts) + unread_words(linker.lower, reading)
        return PipelineOutcome(sql, plan, doubts)


def unread_words(text: str, reading: Reading) -> list[str]:
    """Content words no step read: each is a doubt (the question may say something the plan ignores)."""
    covered = [False] * len(text)
    for item in reading.items:
        for index in range(item.start, item.end):
            covered[index] = True
    unread = []
    for match in re.finditer(r"[a-z]{3,}", text):
        word = match.group(0)
        if any(covered[match.start():match.end()]) or word in lexicon.STOPWORDS or word in lexicon.REQUEST_WORDS:
            continue
        unread.append(word)
    return [f"unread words: {', '.join(unread)}"] if len(unread) > UNREAD_WORDS_TOLERATED else []
