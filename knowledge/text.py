"""Text analysis shared by indexing and querying: zh/en tokenization, glossary expansion.

Language detection and the stop-word lists live in salesbot.text (every layer uses the same rule);
they are re-exported here for the knowledge layer's callers.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from salesbot.text import (
    CHINESE_STOPWORDS,
    CJK_CHARACTERS,
    CJK_RUN,
    ENGLISH_STOPWORDS,
    detect_language,
    has_cjk,
)
from salesbot.yaml_files import load_yaml_model

__all__ = ["TOKENIZER_VERSION", "detect_language", "english_terms", "glossary_expansion", "glossary_groups",
           "has_cjk", "intended_doc_types", "intent_cues", "stem", "tokenize"]

GLOSSARY_PATH = Path(__file__).resolve().parent / "glossary.yaml"
# Stored chunk tokens were produced by this tokenizer; a change to it (stemmer, stop words, the glossary's Chinese
# terms, which are jieba words) must make the ingest fingerprint change too, or old chunks keep tokens that
# queries no longer produce.
TOKENIZER_VERSION = "3"

_TOKEN = re.compile(rf"[{CJK_CHARACTERS}]+|[a-z0-9]+(?:[.\-][a-z0-9]+)*%?")
# Snowball stemmers keep per-object state and are not thread-safe; Slack/WeCom turns run in threads.
_stemmers = threading.local()


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    # Glossary terms are domain words ("质保期", "违约金"); a fixed list keeps index and query tokens identical.
    for group in glossary_groups():
        for term in group:
            if CJK_RUN.fullmatch(term):
                jieba.add_word(term, freq=20000)
    return jieba


def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a lower-case word: "payments" ~ "payment", "warranties" ~ "warranty".

    Only plain words are stemmed; codes and numbers ("ab-x3", "rs-485", "2.5%") stay as written.
    """
    if not (word.isascii() and word.isalpha()):
        return word
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(word))


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: jieba search-mode words for Chinese runs, lowercased Snowball-stemmed words for the rest."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group(0)
        if CJK_RUN.fullmatch(piece):
            for word in _jieba().lcut_for_search(piece):
                if word not in CHINESE_STOPWORDS:
                    tokens.append(word)
        elif piece not in ENGLISH_STOPWORDS:
            tokens.append(stem(piece))
            parts = piece.split("-")
            # "hazardous-location" should also match "hazardous"; SKUs such as "ab-x3" or "rs-485" stay whole.
            if len(parts) > 1 and all(part.isalpha() for part in parts):
                tokens.extend(stem(part) for part in parts if part not in ENGLISH_STOPWORDS)
    return tokens


class Glossary(BaseModel):
    """knowledge/glossary.yaml: groups of words that mean the same thing (general vocabulary, zh and en)."""

    model_config = ConfigDict(extra="allow")

    groups: list[list[str]]


@cache
def _glossary_data() -> dict:
    return load_yaml_model(GLOSSARY_PATH, Glossary).model_dump()


@cache
def glossary_groups() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(term) for term in group) for group in _glossary_data()["groups"])


@cache
def intent_cues() -> dict[str, tuple[str, ...]]:
    """doc_type -> cue words that say a question wants that kind of document (glossary.yaml `intents`)."""
    return {doc_type: tuple(str(term) for term in terms)
            for doc_type, terms in (_glossary_data().get("intents") or {}).items()}


def intended_doc_types(text: str) -> list[str]:
    """The document types whose cue words the text contains, in glossary order."""
    lowered = text.lower()
    return [doc_type for doc_type, cues in intent_cues().items() if any(_term_in_text(cue, lowered) for cue in cues)]


def _term_in_text(term: str, lowered_text: str) -> bool:
    if CJK_RUN.search(term):
        return term in lowered_text
    return re.search(rf"(?<![a-z0-9]){re.escape(term.lower())}(?![a-z0-9])", lowered_text) is not None


def glossary_expansion(text: str) -> list[str]:
    """Glossary terms equivalent to the terms the text contains (the text's own terms are not repeated)."""
    lowered = text.lower()
    expansion: list[str] = []
    for group in glossary_groups():
        present = [term for term in group if _term_in_text(term, lowered)]
        if present:
            expansion.extend(term for term in group if term not in present)
    return expansion


def english_terms(terms: list[str]) -> list[str]:
    return [term for term in terms if not CJK_RUN.search(term)]
