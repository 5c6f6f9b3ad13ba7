"""Extractive (no-LLM) answers: the question's terms, passage support, and verbatim quotes chosen to cite."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from agent.answer.models import AnswerDraft
from agent.answer.refusal import refusal
from agent.models import Citation
from agent.router import restricted_pricing_topics
from knowledge.graph import AliasMatcher
from knowledge.injection import REMOVED_MARKER, is_instruction
from knowledge.models import RetrievedChunk
from knowledge.text import detect_language, glossary_groups, has_cjk, tokenize
from knowledge.text import stem as stem_word

logger = logging.getLogger(__name__)

# Passage support: the IDF-weighted share of the question's content terms a passage must contain.
SUPPORT_THRESHOLD = 0.25
# A term the knowledge base never uses (nor any glossary equivalent) weighs this share of the highest IDF:
# evidence the answer isn't there ("MRI-conditional", "预算"), without one odd word of phrasing sinking a
# question that is otherwise well covered. An unknown English word is a real word; an unknown Chinese "word"
# is often a segmentation artefact of colloquial phrasing ("充满电能用" → 电能), so it counts for less.
OUT_OF_CORPUS_WEIGHT_SHARE = 0.5
OUT_OF_CORPUS_WEIGHT_SHARE_LATIN = 0.6
# A term that can't be checked in the passage's language (no glossary bridge) counts this share as missing.
UNCHECKABLE_SHARE = 0.5
# Named entities as unit-scoring terms: the table row or clause naming the product is the one asked about.
ENTITY_TERM_WEIGHT = 2.0
GROUNDED_ENTITY_KINDS = ("customer", "partner", "product")

# Unit choice.
MAX_QUOTES = 5
SCORED_PASSAGES = 4
# A best passage with at most this many units (a contract clause and its sub-clauses) is quoted whole.
WHOLE_SECTION_UNITS = 4
# Other units join when they score this share of the best unit (more easily from the best unit's own passage).
COMPANION_SHARE = 0.7
SAME_PASSAGE_SHARE = 0.5
# Per retrieval rank: the top passage keeps its best unit unless another passage's is clearly better.
RANK_PENALTY = 0.06
NUMBER_BONUS = 0.25
# A unit naming only other products/customers than the ones asked about is probably about a sibling.
OTHER_ENTITY_PENALTY = 0.5
# Weight of the section heading next to the unit's own text.
CONTEXT_SHARE = 0.3
POSITION_PENALTY = 0.005
# Prose lines up to this length are quoted whole (a numbered clause); longer ones sentence by sentence.
LONG_LINE = 220

# Question scaffolding that says what kind of answer is wanted but names nothing the documents would contain.
_GENERIC_TERMS = frozenset(
    "多少 几 几个 几天 几年 几月 几号 什么 怎么 怎么样 怎样 为什么 是不是 能不能 可不可以 可以 是否 有没有 有无 我们 他们 你们 "
    "客户 那 这 那个 这个 那些 这些 一下 要是 如果 的话 一台 一个 一只 一套 多久 多长 多长时间 长时间 时间 问题 情况 具体 哪些 "
    "哪个 哪款 哪种 哪家 哪天 哪一天 哪里 哪儿 什么时候 何时 里 说 问 请问 给 跟 比 这单 那单 这家 那家 那批 这批 那边 这边 "
    "到底 究竟 老是 总是 明明 怎么回事 还 还能 能 能否 用 直接 该 应该 要 需要 得 最 最多 最少 最晚 最早 最长 最短 最低 最高 "
    "大概 大约 左右 一般 通常 现在 目前 以后 之后 以前 之前 上次 下次 开始 从 算 呢 吗 啊 吧 了 过 着 么 多大 多高 多低 "
    "怎么算 怎么分 怎么办 比例 多少钱 多少天 每天 每年 每月 是 有 没有 会 不会 做 拿 当 时候 帮 想 知道 告诉 查 看 "
    "what how many much does do did is are was were our we us they their customer client give gave get got have has "
    "which who whom when where why can could would should will tell me about any there yet still need needs want "
    "wants say says said know much long big often soon if my i you your it its this that these those a an the one "
    "single every each per apply applies happen happens take takes use used make makes go goes put handle handles".split())
_GENERIC_TERMS = frozenset(map(stem_word, _GENERIC_TERMS))  # compared with tokenize()'s stemmed words
_QUANTITY_QUESTION = re.compile(r"多少|几|多久|多长|多高|多低|多重|多大|多快|比例|百分|封顶|上限|期限|"
                                r"how (many|much|long|far|low|high|big|fast|quickly|soon)|"
                                r"what (is|'s) the (rate|percentage|cap|limit|price|term)|percent|\brate\b|"
                                r"\bwhen\b|\bcap\b|日期|哪天|什么时候|时间",
                                re.I)
_SENTENCE_UNITS = re.compile(r"[^。！？!?\n]+[。！？!?]?|\n")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")
_CODE_TERM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{2,}\b")
_YAML_ITEM = re.compile(r"^- [\w-]+: ")
_YAML_FIELD = re.compile(r"^[\w-]+:( |$)")
_ZH_QUESTION_PHRASES = re.compile(
    r"是多少|是什么|是几|有多少|有多长|有多久|有没有|能不能|是不是|可不可以|多少钱|多少|什么时候|什么|怎么样|怎么|哪些|哪个|"
    r"多长时间|多久|吗|呢|吧")
# A capitalised word or an acronym (with digits or hyphens: "MRI-conditional", "ISO13485", "Zigbee").
_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_ACRONYM = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9-]+(?![A-Za-z0-9])")


@dataclass(frozen=True)
class QuestionTerm:
    """One content word of a question, with what else counts as saying it and how much it matters."""

    text: str
    parts: tuple[str, ...] = ()
    equivalents: tuple[str, ...] = ()
    weight: float = 1.0
    in_corpus: bool = True


@dataclass(frozen=True)
class QuotableUnit:
    """A verbatim piece of a passage (sentence, clause line, table row with its header, FAQ answer)."""

    quote: str
    scoring_text: str
    position: int


class TermRarity(Protocol):
    def inverse_document_frequency(self, token: str) -> float: ...

    document_frequency: Any


@cache
def _equivalents(term: str) -> tuple[str, ...]:
    """Glossary terms that mean the same as this term (in either language), lowercased."""
    found: list[str] = []
    for group in glossary_groups():
        if any(term == item.lower() or term in tokenize(item) for item in group):
            found.extend(item.lower() for item in group if item.lower() != term)
    return tuple(dict.fromkeys(found))


def _question_words(question: str, matcher: AliasMatcher) -> list[str]:
    remainder = question
    for match in sorted(matcher.find(question), key=lambda m: -m.start):
        remainder = remainder[: match.start] + " " + remainder[match.end:]
    # Cut Chinese question phrases out before segmenting: glued to a noun they mislead jieba
    # ("质量保证金是多少" → 质量保证 + 金是 instead of 质量保证金).
    remainder = _ZH_QUESTION_PHRASES.sub(" ", remainder)
    return [term for term in dict.fromkeys(tokenize(remainder)) if term not in _GENERIC_TERMS and len(term) > 1]


def required_acronyms(question: str, matcher: AliasMatcher, terms: list[QuestionTerm]) -> list[QuestionTerm]:
    """The question's acronyms and codes ("FDA", "MTBF", "HL7"): a passage that never says one can't answer it.

    Such terms are precise; a passage sharing only the question's ordinary words with it is about
    something else ("清泉认证的兼容型号" does not answer "FDA认证").
    """
    remainder = question
    for match in sorted(matcher.find(question), key=lambda m: -m.start):
        remainder = remainder[: match.start] + " " + remainder[match.end:]
    acronyms = {token for match in _ACRONYM.finditer(remainder) for token in tokenize(match.group(0))}
    return [term for term in terms if term.text in acronyms and term.in_corpus]


def unknown_names(question: str, matcher: AliasMatcher, rarity: TermRarity) -> list[str]:
    """Capitalised words and acronyms of the question (not its first word) that the knowledge base never uses.

    A name the documents never mention ("Zigbee", "FDA" for a product whose papers don't say it, an unknown
    customer) is the clearest sign the answer isn't there, whatever else the question shares with a passage.
    """
    remainder = question
    for match in sorted(matcher.find(question), key=lambda m: -m.start):
        remainder = remainder[: match.start] + " " + remainder[match.end:]
    names = [match.group(0) for match in _NAME.finditer(remainder) if match.start() > 0 or _ACRONYM.fullmatch(
        match.group(0))]
    unknown: list[str] = []
    for name in names:
        singular = name[:-1]  # the stemmer keeps some plurals whole: look the singular up too
        if name.endswith("s") and (matcher.find(singular) or any(
                rarity.document_frequency.get(token, 0) for token in tokenize(singular))):
            continue  # a plural of a known name ("X3s")
        tokens = tokenize(name)
        if tokens and all(rarity.document_frequency.get(token, 0) == 0 for token in tokens) and not any(
                rarity.document_frequency.get(token, 0) for equivalent in _equivalents(tokens[0])
                for token in tokenize(equivalent)):
            unknown.append(name)
    return unknown


def question_terms(question: str, matcher: AliasMatcher, rarity: TermRarity | None = None) -> list[QuestionTerm]:
    """Content words, longest first; jieba's shorter sub-words become parts of the longer word (partial credit)."""
    words = _question_words(question, matcher)
    kept: list[str] = []
    parts: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        # "监护" inside "监护仪", "site" inside "on-site": one idea, not two terms that double its weight.
        container = next((longer for longer in kept if (word in longer if has_cjk(word) else
                                                        word in longer.split("-"))), None)
        if container is not None:
            parts[container].append(word)
        else:
            kept.append(word)
            parts[word] = []
    ordered = [word for word in words if word in parts]
    terms = [QuestionTerm(text=word, parts=tuple(parts[word]), equivalents=_equivalents(word)) for word in ordered]
    if rarity is None:
        return terms
    return [_weighted(term, rarity) for term in terms]


def _weighted(term: QuestionTerm, rarity: TermRarity) -> QuestionTerm:
    frequency = rarity.document_frequency
    spellings = [term.text, *term.parts]
    spellings += [token for equivalent in term.equivalents for token in tokenize(equivalent)]
    known = [spelling for spelling in spellings if frequency.get(spelling, 0) > 0]
    if not known:
        rarest = rarity.inverse_document_frequency("\x00")
        share = OUT_OF_CORPUS_WEIGHT_SHARE if has_cjk(term.text) else OUT_OF_CORPUS_WEIGHT_SHARE_LATIN
        return QuestionTerm(term.text, term.parts, term.equivalents, share * rarest, False)
    # A word the corpus uses weighs its own IDF; one known only through sub-words or synonyms, the commonest of them.
    weight = rarity.inverse_document_frequency(term.text) if known[0] == term.text else min(
        rarity.inverse_document_frequency(spelling) for spelling in known)
    return QuestionTerm(term.text, term.parts, term.equivalents, weight, True)


def _contains(word: str, lowered: str, tokens: set[str]) -> bool:
    if word in tokens:
        return True
    if has_cjk(word):
        return word in lowered
    # Word-start match on a slightly shortened stem: "warranty" ~ "warrants", "delivery" ~ "delivered".
    stem = word[:-1] if len(word) >= 6 else word
    return re.search(rf"(?<![a-z0-9]){re.escape(stem)}", lowered) is not None


def term_coverage(term: QuestionTerm, lowered: str, tokens: set[str], chinese_text: bool | None = None,
                  reference: str | None = None) -> float | None:
    """1.0 when the text says the term (or a glossary equivalent), a share for its sub-words, None = can't tell.

    `reference` (the whole passage, lowercased) makes a cross-script term checkable when the passage uses it
    verbatim somewhere ("HL7" in a Chinese white paper), so every unit of a passage is judged on the same terms.
    """
    if _contains(term.text, lowered, tokens) or any(_contains(e, lowered, tokens) for e in term.equivalents):
        return 1.0
    partial = sum(1 for part in term.parts if _contains(part, lowered, tokens)) / len(term.parts) if term.parts else 0
    if partial:
        return 0.5 * partial
    if chinese_text is None:
        chinese_text = detect_language(lowered) == "zh"
    # A Chinese word can't be checked against an English passage (or back) unless the glossary bridges them.
    same_script = has_cjk(term.text) == chinese_text
    # A word the whole knowledge base never uses counts as missing in either language: it is the likeliest
    # sign that the question asks about something the documents don't cover ("预算", "MRI-conditional").
    if same_script or term.equivalents or not term.in_corpus or (
            reference is not None and _contains(term.text, reference, set())):
        return 0.0
    return None


def weighted_support(terms: list[QuestionTerm], text: str, passage_text: str | None = None) -> float:
    """Weighted share of the checkable question terms the text contains (1.0 when the question has none).

    With `passage_text`, which terms are checkable is decided on the whole passage, not on this piece of it.
    """
    if not terms:
        return 1.0
    lowered = text.lower()
    tokens = set(tokenize(text))
    reference = (passage_text or text).lower()
    chinese_text = detect_language(passage_text or text) == "zh"
    covered = total = 0.0
    for term in terms:
        coverage = term_coverage(term, lowered, tokens, chinese_text, reference)
        if coverage is None:
            # Can't be checked in this language: a little evidence against, so an English passage that shares
            # one bridged word with a Chinese question doesn't count as full support.
            total += UNCHECKABLE_SHARE * term.weight
            continue
        covered += term.weight * coverage
        total += term.weight
    # Nothing checkable (a Chinese question against an English passage with no glossary bridge) is no support.
    return covered / total if total else 0.0


def _is_table_row(line: str) -> bool:
    return line.startswith("|")


def _units(text: str) -> list[str]:
    """Quotable units as plain strings (used by the LLM path to pick a quote)."""
    return [unit.quote for unit in quotable_units(text)]


def quotable_units(text: str) -> list[QuotableUnit]:
    """Table rows (with the table's header row), FAQ answers (scored with their question), clause lines, sentences."""
    units: list[QuotableUnit] = []
    header: str | None = None
    faq_question: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if REMOVED_MARKER in stripped and faq_question is not None and units and units[-1].quote == faq_question:
            # The FAQ answer was stripped as instruction-like: its question line alone answers nothing.
            units.pop()
            faq_question = None
        if not stripped or REMOVED_MARKER in stripped:
            continue
        if set(stripped) <= set("|-: "):
            continue
        if _is_table_row(stripped):
            if header is None:
                header = stripped  # quoted with each row below, never alone
            else:
                # The header row says what each column is ("| Item | <our model> | <rival model> |"): quote it with the row.
                units.append(QuotableUnit(f"{header}\n{stripped}", f"{header}\n{stripped}", len(units)))
            continue
        header = None
        if units and line[:1].isspace() and _YAML_FIELD.match(stripped) and _YAML_ITEM.match(units[-1].quote):
            # An indented field of a YAML list item ("  floor_price: 78700") means nothing without its item
            # ("- sku: <SKU>"): the item and its fields are one unit.
            merged = f"{units[-1].quote}\n{line.rstrip()}"
            units[-1] = QuotableUnit(merged, merged, units[-1].position)
            continue
        if stripped.startswith(("Q:", "Q：", "问：")):
            faq_question = stripped
            units.append(QuotableUnit(stripped, stripped, len(units)))
            continue
        if faq_question is not None and stripped.startswith(("A:", "A：", "答：")):
            # The answer line is what helps; the question line says what it answers.
            units.append(QuotableUnit(stripped, f"{faq_question} {stripped}", len(units)))
            faq_question = None
            continue
        faq_question = None
        if stripped.startswith(("- ", "* ")) or len(stripped) <= LONG_LINE:
            units.append(QuotableUnit(stripped, stripped, len(units)))
            continue
        for part in _SENTENCE_UNITS.findall(stripped):
            if part.strip():
                units.append(QuotableUnit(part.strip(), part.strip(), len(units)))
    # Never quote an instruction to the reader ("send the contract to …", "email your password") as an answer,
    # even one that slipped past ingestion (an index built before the current rules).
    return [unit for unit in units if len(unit.quote) > 3 and not is_instruction(unit.quote)
            and not _is_bare_faq_question(unit, units)]


def _is_bare_faq_question(unit: QuotableUnit, units: list[QuotableUnit]) -> bool:
    """A FAQ question line whose answer was dropped (stripped or instruction-like): nothing to quote."""
    if not unit.quote.startswith(("Q:", "Q：", "问：")):
        return False
    following = next((other for other in units if other.position == unit.position + 1), None)
    return following is not None and following.scoring_text.startswith(unit.quote) and is_instruction(following.quote)


def _score_unit(unit: QuotableUnit, passage: RetrievedChunk, terms: list[QuestionTerm], wants_number: bool) -> float:
    if not terms:
        score = 0.1
    else:
        score = (weighted_support(terms, unit.scoring_text, passage.text)
                 + CONTEXT_SHARE * weighted_support(terms, passage.section, passage.text))
    if wants_number and _NUMBER.search(unit.scoring_text):
        score += NUMBER_BONUS
    # Earlier clauses of a section usually state the rule; later ones its exceptions.
    return score - POSITION_PENALTY * min(unit.position, 10)


def _asked_entities(question: str, matcher: AliasMatcher) -> dict[str, set[str]]:
    """Entity ids the question names, by type (product, customer, partner)."""
    asked: dict[str, set[str]] = {}
    for entity_id in matcher.entity_ids(question):
        kind = entity_id.split(":", 1)[0]
        if kind in GROUNDED_ENTITY_KINDS:
            asked.setdefault(kind, set()).add(entity_id)
    return asked


def _names_only_other_entities(text: str, asked: dict[str, set[str]], matcher: AliasMatcher) -> bool:
    """A line about one product when the question asks about its sibling model (or another customer's clause)."""
    if not asked:
        return False
    named: dict[str, set[str]] = {}
    for entity_id in matcher.entity_ids(text):
        named.setdefault(entity_id.split(":", 1)[0], set()).add(entity_id)
    return any(named.get(kind) and not (named[kind] & ids) for kind, ids in asked.items())


def _entities_grounded(question: str, matcher: AliasMatcher, passage: RetrievedChunk,
                       entity_names: dict[str, list[str]]) -> bool:
    """A question naming a customer, partner or product is only answered from a passage about or mentioning it."""
    named = [m.entity_id for m in matcher.find(question)
             if m.entity_id.split(":")[0] in GROUNDED_ENTITY_KINDS and m.entity_id in entity_names]
    if not named:
        return True
    haystack = f"{passage.title}\n{passage.section}\n{passage.text}\n{' '.join(passage.customers)}".lower()
    return all(any(alias.lower() in haystack for alias in entity_names.get(entity_id, [])) for entity_id in named)


def _restricted_topic_terms(question: str, rarity: TermRarity | None) -> list[QuestionTerm]:
    """The floor price / cost / margin a question asks for in other words (only managers get this far)."""
    weight = rarity.inverse_document_frequency("\x00") if rarity is not None else 1.0
    return [QuestionTerm(topic, equivalents=(*_equivalents(topic), topic.replace(" ", "_")), weight=weight)
            for topic in restricted_pricing_topics(question)]


def entity_terms(question: str, matcher: AliasMatcher, entity_names: dict[str, list[str]]) -> list[QuestionTerm]:
    """The entities the question names, as terms: a table row or clause naming the product is the one asked about."""
    terms: list[QuestionTerm] = []
    for match in matcher.find(question):
        aliases = tuple(alias.lower() for alias in entity_names.get(match.entity_id, []) if len(alias) > 1)
        terms.append(QuestionTerm(text=match.alias.lower(), equivalents=aliases, weight=ENTITY_TERM_WEIGHT))
    return list({term.text: term for term in terms}.values())


def _default_rarity() -> TermRarity | None:
    try:
        from knowledge.base import get_knowledge_base

        return get_knowledge_base().lexical_index()
    except Exception:  # an answer without IDF weights is still an answer; the reason goes to the log
        logger.exception("No lexical index for term weights; using flat weights")
        return None


def compose_extractive_answer(question: str, language: str, passages: list[RetrievedChunk],
                              matcher: AliasMatcher, entity_names: dict[str, list[str]],
                              rarity: TermRarity | None = None) -> AnswerDraft:
    """Pick the units of the top passages that answer the question; quote them verbatim and cite each."""
    rarity = rarity or _default_rarity()
    if rarity is not None and unknown_names(question, matcher, rarity):
        return refusal(language)
    terms = question_terms(question, matcher, rarity) + _restricted_topic_terms(question, rarity)
    grounded = [p for p in passages if _entities_grounded(question, matcher, p, entity_names)]
    required = required_acronyms(question, matcher, terms)
    supported = [(rank, p) for rank, p in enumerate(grounded)
                 if weighted_support(terms, f"{p.title}\n{p.section}\n{p.text}") >= SUPPORT_THRESHOLD
                 and all(weighted_support([term], f"{p.section}\n{p.text}") == 1.0 for term in required)]
    if not supported:
        return refusal(language)
    wants_number = bool(_QUANTITY_QUESTION.search(question))
    unit_terms = terms + entity_terms(question, matcher, entity_names)
    scored: list[tuple[float, int, QuotableUnit, RetrievedChunk]] = []
    asked = _asked_entities(question, matcher)
    for rank, passage in supported[:SCORED_PASSAGES]:
        for unit in quotable_units(passage.text):
            score = _score_unit(unit, passage, unit_terms, wants_number) - RANK_PENALTY * rank
            if _names_only_other_entities(unit.scoring_text, asked, matcher):
                score -= OTHER_ENTITY_PENALTY
            scored.append((score, rank, unit, passage))
    if not scored:
        return refusal(language)
    scored.sort(key=lambda item: -item[0])
    best_score, best_passage = scored[0][0], scored[0][3].chunk_id
    own_units = [item for item in scored if item[3].chunk_id == best_passage]
    if len(own_units) <= WHOLE_SECTION_UNITS:
        # A short section (a contract clause with its sub-clauses) is quoted whole: the rule, its amount and
        # its start date are often in neighbouring lines that share few words with the question.
        chosen = own_units + [item for item in scored if item[3].chunk_id != best_passage
                              and item[0] >= best_score * COMPANION_SHARE][:max(0, MAX_QUOTES - len(own_units))]
    else:
        chosen = [item for item in scored if item[0] >= best_score * (
            SAME_PASSAGE_SHARE if item[3].chunk_id == best_passage else COMPANION_SHARE)][:MAX_QUOTES]
    chosen.sort(key=lambda item: (item[1], item[2].position))
    citations = [Citation(source=p.source, section=p.section, quote=unit.quote) for _, _, unit, p in chosen]
    return AnswerDraft(text=format_quotes(language, [(unit.quote, p) for _, _, unit, p in chosen]),
                       citations=citations)


def format_quotes(language: str, chosen: list[tuple[str, RetrievedChunk]]) -> str:
    lines: list[str] = []
    last_key: tuple[str, str] | None = None
    for unit, passage in chosen:
        key = (passage.source, passage.section)
        if key != last_key:
            lines.append(f"根据《{passage.title}》{passage.section}：" if language == "zh"
                         else f"According to {passage.title} ({passage.section}):")
            last_key = key
        lines.append(f"「{unit}」" if language == "zh" else f"“{unit}”")
    return "\n".join(lines)


