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


class SolvedExamples(RootModel[list[SolvedExample]]):
    """tools/text2sql/examples/<layer>.yaml: a list of solved questions."""


@lru_cache(maxsize=16)
def load_examples(layer_name: str) -> tuple[SolvedExample, ...]:
    path = EXAMPLES_DIR / f"{layer_name}.yaml"
    if not path.exists():
        return ()
    return tuple(load_yaml_model(path, SolvedExamples).root)


def _terms(text: str) -> set[str]:
    """English words plus Chinese character bigrams (no segmenter needed for short questions)."""
    lowered = text.lower()
    words = set(re.findall(r"[a-z0-9]+", lowered))
    for run in CJK_RUN.findall(lowered):
        words.update(run[index:index + 2] for index in range(max(1, len(run) - 1)))
    return words


def similar_examples(question: str, layer_name: str, limit: int = 3) -> list[SolvedExample]:
    """The solved examples sharing the most terms with the question (Jaccard overlap)."""
    question_terms = _terms(question)
    scored = []
    for example in load_examples(layer_name):
        example_terms = _terms(example.question)
        union = question_terms | example_terms
        score = len(question_terms & example_terms) / len(union) if union else 0.0
        scored.append((score, example))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [example for score, example in scored[:limit] if score > 0]
