"""Store of solved question/SQL pairs per semantic layer, retrieved by word overlap to ground the LLM."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import RootModel

from salesbot.text import CJK_RUN
from salesbot.yaml_files import load_yaml_model
from tools.text2sql.models import SolvedExample

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
# Shapes of SQL over a small made-up database, offered with every layer (a drafted layer has no examples of
# its own, and a database's own benchmark questions must never be its examples).
GENERIC_EXAMPLES = "generic"
# Words every question has; they would make unrelated questions look alike.
FUNCTION_WORDS = frozenset(
    "a an the of in on for to by with and or is are was were be do does did what which who whom whose how "
    "many much all each every give show list me us their its his her them that this these those there have "
    "has had as at from".split())


class SolvedExamples(RootModel[list[SolvedExample]]):
    """tools/text2sql/examples/<layer>.yaml: a list of solved questions."""


@lru_cache(maxsize=16)
def load_examples(layer_name: str) -> tuple[SolvedExample, ...]:
    """The examples written for one layer; none for a layer without a file (every drafted layer)."""
    if Path(layer_name).name != layer_name:  # a layer name is a file stem, never a path
        return ()
    path = EXAMPLES_DIR / f"{layer_name}.yaml"
    if not path.exists():
        return ()
    return tuple(load_yaml_model(path, SolvedExamples).root)


def _terms(text: str) -> set[str]:
    """English content words (a plural 's' dropped) plus Chinese character bigrams (no segmenter needed)."""
    lowered = text.lower()
    words = {word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
             for word in re.findall(r"[a-z0-9]+", lowered) if word not in FUNCTION_WORDS}
    for run in CJK_RUN.findall(lowered):
        words.update(run[index:index + 2] for index in range(max(1, len(run) - 1)))
    return words


def similar_examples(question: str, layer_name: str, limit: int = 3) -> list[SolvedExample]:
    """The solved examples of `layer_name` sharing the most terms with the question (Jaccard overlap)."""
    question_terms = _terms(question)
    scored = []
    for example in load_examples(layer_name):
        example_terms = _terms(example.question)
        union = question_terms | example_terms
        score = len(question_terms & example_terms) / len(union) if union else 0.0
        scored.append((score, example))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [example for score, example in scored[:limit] if score > 0]
