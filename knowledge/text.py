"""Text analysis shared by indexing and querying: zh/en tokenization, language detection, glossary expansion."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import yaml

GLOSSARY_PATH = Path(__file__).resolve().parent / "glossary.yaml"

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+(?:[.\-][a-z0-9]+)*%?")
_EN_STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be been by with at as from that this these those it its "
    "what which who whom how when where does do did can could should would will shall may might our their "
    "your my me we you they he she them his her there here than then about into per any all not no".split()
)
_ZH_STOPWORDS = frozenset("的 了 是 在 和 与 及 或 吗 呢 吧 啊 请问 什么 多少 怎么 如何 哪些 哪个 是否 有没有 一下 我们 他们 这个 那个 这些 那些 其 之 为 对 把 被 给 让 请 有 都 也 就 还 要 会 能 可以 多久 几".split())


@cache
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    # Glossary terms are domain words ("质保期", "违约金"); a fixed list keeps index and query tokens identical.
    for group in glossary_groups():
        for term in group:
            if _CJK_RUN.fullmatch(term):
                jieba.add_word(term, freq=20000)
    return jieba


def _stem(word: str) -> str:
    # A light English stemmer: plural and -ing/-ed endings only, enough for "payments" ~ "payment".
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: jieba search-mode words for Chinese runs, lowercased light-stemmed words for the rest."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group(0)
        if _CJK_RUN.fullmatch(piece):
            for word in _jieba().lcut_for_search(piece):
                if word not in _ZH_STOPWORDS:
                    tokens.append(word)
        elif piece not in _EN_STOPWORDS:
            tokens.append(_stem(piece))
            parts = piece.split("-")
            # "hazardous-location" should also match "hazardous"; SKUs such as "qm-x3" or "rs-485" stay whole.
            if len(parts) > 1 and all(part.isalpha() for part in parts):
                tokens.extend(_stem(part) for part in parts if part not in _EN_STOPWORDS)
    return tokens


def detect_language(text: str) -> str:
    """'zh' when Chinese characters carry the text, else 'en'."""
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= latin else "en"


@cache
def _glossary_data() -> dict:
    return yaml.safe_load(GLOSSARY_PATH.read_text(encoding="utf-8"))


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
    if _CJK_RUN.search(term):
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
    return [term for term in terms if not _CJK_RUN.search(term)]
