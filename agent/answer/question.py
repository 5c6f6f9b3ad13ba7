"""What a question asks, in the retriever's terms: its content terms (the project's tokenizer, glossary
equivalents, corpus IDF), its identifiers, the entities it names and the answer types it wants."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from agent.answer.answer_types import AnswerType, asked_types
from agent.router import restricted_pricing_topics
from knowledge.bilingual import cross_language_tokens
from knowledge.graph import AliasMatcher
from knowledge.text import glossary_groups, has_cjk, stem, tokenize

# Entities whose mention must be found in a passage before it may answer (a customer's contract, a product's
# paper); competitors and contracts are named in questions about other things.
GROUNDED_ENTITY_KINDS = ("customer", "partner", "product")

# Question scaffolding: interrogatives, pronouns, auxiliaries and filler in either language. They say what kind
# of answer is wanted (see answer_types), not what the documents would contain. General vocabulary only.
_SCAFFOLDING = frozenset(map(stem, (
    "多少 几 几个 什么 怎么 怎么样 怎样 为什么 是不是 能不能 可不可以 可以 是否 有没有 有无 我们 他们 你们 咱们 那 这 那个 这个 "
    "那些 这些 一下 要是 如果 的话 多久 多长 多长时间 长时间 时间 问题 情况 具体 哪些 哪个 哪款 哪种 哪家 哪天 哪里 哪儿 "
    "什么时候 何时 里 说 问 请问 给 跟 比 到底 究竟 还 还能 能 能否 用 该 应该 要 需要 得 最 大概 大约 左右 一般 通常 现在 "
    "目前 呢 吗 啊 吧 了 过 着 么 是 有 没有 会 不会 做 拿 当 时候 帮 想 知道 告诉 查 看 这单 那单 这家 那家 那批 这批 "
    "what how many much does do did is are was were our we us they their give gave get got have has which who "
    "whom when where why can could would should will tell me about any there yet still need needs want wants say "
    "says said know long big often soon if my i you your it its this that these those a an the one every each "
    "per apply applies happen happens take takes use used make makes go goes put let lets".split())))
# Interrogative phrases cut out before segmentation: glued to a noun they mislead jieba ("保证金是多少").
_ZH_QUESTION_PHRASES = re.compile(
    r"是多少|是什么|是几|有多少|有多长|有多久|有没有|能不能|是不是|可不可以|多少钱|多少|什么时候|什么|怎么样|怎么|哪些|哪个|"
    r"多长时间|多久|吗|呢|吧")
# An acronym or a code ("FDA", "HL7", "R4", "IP67"): a precise term a passage must contain to answer.
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{2,}[A-Z0-9]*|[A-Z]+\d+[A-Z0-9]*)(?:-[A-Z0-9]+)*(?![A-Za-z0-9])")


class TermRarity(Protocol):
    """The lexical index's view the composer needs (knowledge.lexical.LexicalIndex has it)."""

    document_frequency: Any

    def inverse_document_frequency(self, token: str) -> float: ...


@dataclass(frozen=True)
class QuestionTerm:
    """One content word of the question with its other forms (sub-words, glossary equivalents) and its IDF."""

    text: str
    forms: tuple[str, ...]
    weight: float = 1.0
    in_corpus: bool = True
    identifier: bool = False


@dataclass(frozen=True)
class QuestionProfile:
    """Everything the composer derives from the question once, before it looks at any passage."""

    text: str
    terms: tuple[QuestionTerm, ...]
    types: frozenset[AnswerType]
    asked_entities: dict[str, frozenset[str]] = field(default_factory=dict)
    entity_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def identifiers(self) -> tuple[QuestionTerm, ...]:
        return tuple(term for term in self.terms if term.identifier)


def profile_question(question: str, matcher: AliasMatcher, entity_names: dict[str, list[str]],
                     rarity: TermRarity | None, out_of_corpus_weight: float) -> QuestionProfile:
    """Terms (IDF-weighted; a word the corpus never uses weighs `out_of_corpus_weight` × the highest IDF),
    the answer types asked for, and the customers/partners/products named."""
    mentions = matcher.find(question)
    remainder = question
    for mention in sorted(mentions, key=lambda m: -m.start):
        remainder = remainder[: mention.start] + " " + remainder[mention.end:]
    identifiers = {token for match in _IDENTIFIER.finditer(remainder) for token in tokenize(match.group(0))}
    words = _content_words(_ZH_QUESTION_PHRASES.sub(" ", remainder))
    groups = _glossary_groups_in(question)
    terms = [_term(word, _forms(word, groups) + _translations(word, words, rarity), rarity, out_of_corpus_weight,
                   word in identifiers) for word in words]
    terms += _restricted_topic_terms(question, rarity)
    asked: dict[str, set[str]] = {}
    for mention in mentions:
        kind = mention.entity_id.split(":", 1)[0]
        if kind in GROUNDED_ENTITY_KINDS and mention.entity_id in entity_names:
            asked.setdefault(kind, set()).add(mention.entity_id)
    aliases = {entity_id: tuple(alias for alias in entity_names.get(entity_id, []) if len(alias) > 1)
               for ids in asked.values() for entity_id in ids}
    return QuestionProfile(text=question, terms=tuple(terms), types=asked_types(question),
                           asked_entities={kind: frozenset(ids) for kind, ids in asked.items()},
                           entity_aliases=aliases)


def _content_words(text: str) -> list[str]:
    """Tokens that are not scaffolding; a Chinese sub-word of a longer question word is folded into it."""
    tokens = [token for token in dict.fromkeys(tokenize(text))
              if token not in _SCAFFOLDING and (len(token) > 1 or token.isdigit())]
    longest = sorted(tokens, key=len, reverse=True)
    kept = [token for token in tokens if not (has_cjk(token) and any(token != other and token in other
                                                                      for other in longest))]
    return kept


def _forms(word: str, groups: list[tuple[tuple[str, ...], list[str]]]) -> tuple[str, ...]:
    """The word, its Chinese sub-words (jieba's search-mode pieces) and the tokens of the glossary groups
    whose entry, as the question writes it, contains the word."""
    forms = [word]
    if has_cjk(word):
        forms += [piece for piece in tokenize(word) if piece != word and len(piece) > 1]
    for group, present in groups:
        if any(word in tokenize(item) or (has_cjk(word) and word in item) for item in present):
            forms += [token for item in group for token in _item_tokens(item)]
    return tuple(dict.fromkeys(forms))


def _translations(word: str, words: list[str], rarity: TermRarity | None) -> tuple[str, ...]:
    """A word the corpus never writes, in the other language as the corpus writes it (CC-CEDICT,
    knowledge/bilingual.py): a Chinese clause says 争议 where an English question says "disputes". A word the
    corpus does use keeps its own matches only (on the dev data, translating every word covered fewer key facts:
    other senses of a common word match unrelated units)."""
    if rarity is None or rarity.document_frequency.get(word, 0) > 0:
        return ()
    frequency = rarity.document_frequency
    return tuple(cross_language_tokens([word], lambda token: frequency.get(token, 0), context=words))


def _glossary_groups_in(question: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Glossary groups with the entries the question contains (phrases matched whole, as the retriever does)."""
    lowered = question.lower()
    found = []
    for group in glossary_groups():
        present = [item for item in group if _phrase_in(item.lower(), lowered)]
        if present:
            found.append((group, present))
    return found


def _phrase_in(phrase: str, lowered: str) -> bool:
    if has_cjk(phrase):
        return phrase in lowered
    words = [stem(word) for word in re.findall(r"[a-z0-9]+", phrase)]
    text_words = [stem(word) for word in re.findall(r"[a-z0-9]+", lowered)]
    return any(text_words[i:i + len(words)] == words for i in range(len(text_words) - len(words) + 1))


@cache
def _item_tokens(item: str) -> tuple[str, ...]:
    """A glossary entry as a form: Chinese whole (matched as a substring), one English word as its stem, a
    multi-word English entry as its stems joined by spaces (matched as a phrase, never word by word)."""
    if has_cjk(item):
        return (item.lower(),)
    tokens = tokenize(item)
    return (" ".join(tokens),) if tokens else ()


def _term(word: str, forms: tuple[str, ...], rarity: TermRarity | None, out_of_corpus_weight: float,
          identifier: bool) -> QuestionTerm:
    if rarity is None:
        return QuestionTerm(word, forms, 1.0, True, identifier)
    frequency = rarity.document_frequency
    if frequency.get(word, 0) > 0:
        return QuestionTerm(word, forms, rarity.inverse_document_frequency(word), True, identifier)
    known = [form for form in forms if frequency.get(form, 0) > 0]
    if known or (identifier and _inside_known_token(word, frequency)):
        # Known only through a synonym or a sub-word (or, for an acronym, inside a longer token such as a
        # table's symbol): the commonest of those forms sets the weight.
        weight = min((rarity.inverse_document_frequency(form) for form in known),
                     default=rarity.inverse_document_frequency(word))
        return QuestionTerm(word, forms, weight, True, identifier)
    rarest = rarity.inverse_document_frequency("\x00")
    return QuestionTerm(word, forms, out_of_corpus_weight * rarest, False, identifier)


def _inside_known_token(word: str, frequency: Any) -> bool:
    return any(word in token for token in frequency if len(token) > len(word))


def _restricted_topic_terms(question: str, rarity: TermRarity | None) -> list[QuestionTerm]:
    """The floor price / cost / margin a question asks for in other words (only managers get this far)."""
    weight = rarity.inverse_document_frequency("\x00") if rarity is not None else 1.0
    terms = []
    for topic in restricted_pricing_topics(question):
        groups = [group for group in glossary_groups() if topic in (item.lower() for item in group)]
        forms = [*tokenize(topic), topic.replace(" ", "_"), *(t for group in groups for item in group
                                                               for t in _item_tokens(item))]
        terms.append(QuestionTerm(topic, tuple(dict.fromkeys(forms)), weight))
    return terms
