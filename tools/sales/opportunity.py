"""Extract an opportunity card from a pasted chat, email or call transcript (rules; an LLM when given one)."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from knowledge.base import get_entity_registry
from prompts import load_prompt
from salesbot.text import detect_language
from tools.sales.customers import find_customer_in_text
from tools.sales.models import OpportunityCard

logger = logging.getLogger(__name__)

# Ordered: the first stage whose cue appears wins, so decided outcomes beat earlier-stage vocabulary.
# closed_lost is built per call (_closed_lost_cue): "决定采用<competitor>" names a competitor from the registry.
_CLOSED_LOST_GENERIC = (r"丢单|选了(?:竞品|别家|他们|对手)|决定(?:采用|选择)(?:了)?(?:竞品|别家|对手|其他厂家)|"
                        r"\b(?:went with|chose|lost the deal|decided against)\b")
_STAGE_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("closed_won", re.compile(r"签(?:了|订)?合同|已签约|成交|中标|下单了|\b(?:signed|purchase order|PO issued|we won)\b",
                              re.I)),
    ("negotiation", re.compile(r"谈判|议价|砍价|压价|折扣|降价|便宜|优惠|再谈|谈价|价格上|\b(?:negotiat\w*|discount|lower the price|"
                               r"price match|terms)\b", re.I)),
    ("proposal", re.compile(r"报价|方案|标书|投标|\b(?:quote|quotation|proposal|tender|RFP)\b", re.I)),
    ("qualification", re.compile(r"需求|预算|决策|演示|试用|调研|评估|\b(?:budget|demo|trial|evaluat\w*|requirement|"
                                 r"decision maker)\b", re.I)),
]
_OBJECTION_CUES = re.compile(
    r"太贵|贵了|偏高|价格高|超预算|预算不够|预算有限|担心|顾虑|质疑|不满意|犹豫|交期|交付|售后|兼容|集成|风险|"
    r"\b(?:too expensive|expensive|too high|over budget|concern\w*|worr\w*|hesitant|delivery|lead time|"
    r"integration|support|risk|not sure)\b", re.I)
_NEXT_STEP_CUES = re.compile(
    r"下一步|下周|明天|约了|安排|会后|将会|我们会|我会|需要我们|待|\b(?:next step|next week|tomorrow|will send|"
    r"follow up|schedule|we'll|i'll|let's|agreed to|by friday|by monday)\b", re.I)
_BUDGET_RE = re.compile(
    # In Chinese numerals: "经费大概五十万", "预算一百二十万" (before the digits: "预算五十万，要20台" is 50万).
    r"(?:预算|经费)[^0-9。.;；\n]{0,12}?(?P<amount_zh>[一二两三四五六七八九十百千]+)(?P<unit_zh>万|亿)|"
    r"(?:预算|经费|budget)[^0-9。.;；\n]{0,30}?(?:¥|RMB|CNY|人民币)?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*"
    r"(?P<unit>亿|万元|万|千|元|k|K|m|M|million|thousand)?|"
    # Money put aside without the word budget: "we've set aside €40k", "about $50k for the rollout", "90k euros to
    # spend"; a plain "we have 40" (a count) needs the currency or the verb of putting money aside.
    r"\b(?:set aside|earmarked|allocated|(?:have|got) (?:about |around |roughly |up to )?(?=[$€¥￥]|RMB|EUR|USD))"
    r"\s*(?:[$€¥￥]|RMB|EUR|USD|CNY)?\s*(?P<amount_set>\d+(?:[.,]\d+)*)\s*(?P<unit_set>k|K|m|M|million|thousand|万)?|"
    r"(?P<amount_spend>\d+(?:[.,]\d+)*)\s*(?P<unit_spend>k|K|m|M|million|thousand|万)?\s*"
    r"(?:euros?|dollars?|RMB|USD|EUR|元)?\s+to spend\b",
    re.I,
)
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+")
_UNIT_MULTIPLIERS = {"亿": Decimal(100_000_000), "万元": Decimal(10_000), "万": Decimal(10_000), "千": Decimal(1000),
                     "元": Decimal(1), "k": Decimal(1000), "thousand": Decimal(1000), "m": Decimal(1_000_000),
                     "million": Decimal(1_000_000)}


_SPEAKER_RE = re.compile(r"^[^：:。\n]{1,24}[：:]\s*")  # "<name>(<department>)：", "Next step:", "销售 <name>："
_EXPLICIT_NEXT_STEP_RE = re.compile(r"下一步|next step", re.I)


def _sentences(text: str) -> list[str]:
    parts = [part.strip(" \t-—") for part in _SENTENCE_SPLIT_RE.split(text)]
    return [part for part in parts if part and not re.fullmatch(r"(?:From|To|Subject|Re)\b.*", part, re.I)]


def _without_speaker(sentence: str) -> str:
    return _SPEAKER_RE.sub("", sentence).strip()


def _competitor_aliases() -> list[str]:
    """Every alias of every competitor the registry knows (registry files and documents' front matter)."""
    return [alias for entity in get_entity_registry().of_type("competitor") for alias in entity.aliases]


def _closed_lost_cue() -> re.Pattern[str]:
    named = "|".join(re.escape(alias) for alias in sorted(_competitor_aliases(), key=len, reverse=True))
    chose_competitor = rf"|决定(?:采用|选择)(?:了)?(?:{named})" if named else ""
    return re.compile(_CLOSED_LOST_GENERIC + chose_competitor, re.I)


def _find_competitor(text: str) -> str | None:
    """The first competitor the text names, by its canonical name (its English name in English text)."""
    registry = get_entity_registry()
    found = registry.find(text, ["competitor"])
    entity = registry.get(found[0].entity_id) if found else None
    if entity is None:
        return None
    return entity.name if detect_language(text) == "zh" else entity.latin_name()


_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_POWERS = {"十": 10, "百": 100, "千": 1000}


def _zh_number(text: str) -> int:
    """A Chinese-numeral count below 10,000 ("五十" = 50, "一百二十" = 120, "十五" = 15)."""
    total, digit = 0, 0
    for char in text:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        else:
            total += (digit or 1) * _ZH_POWERS[char]
            digit = 0
    return total + digit


def _find_budget(text: str) -> int | None:
    match = _BUDGET_RE.search(text)
    if not match:
        return None
    if match["amount_zh"]:
        return _zh_number(match["amount_zh"]) * int(_UNIT_MULTIPLIERS[match["unit_zh"]])
    amount_text = match["amount"] or match["amount_set"] or match["amount_spend"]
    amount = Decimal(amount_text.replace(",", ""))
    unit = (match["unit"] or match["unit_set"] or match["unit_spend"] or "").lower()
    return int(amount * _UNIT_MULTIPLIERS.get(unit, Decimal(1)))


def _find_stage(text: str) -> str:
    if _closed_lost_cue().search(text):
        return "closed_lost"
    for stage, pattern in _STAGE_CUES:
        if pattern.search(text):
            return stage
    return "prospecting"


def _find_product(text: str) -> str | None:
    from tools.sales.pricing import find_product_in_text

    product = find_product_in_text(text)
    return product.sku if product else None


# Public names for coach mode (tools/coach), so the budget and stage rules live in one place.
find_budget = _find_budget
find_stage = _find_stage


def extract_opportunity_rules(text: str) -> OpportunityCard:
    """The card from keyword rules alone (works with no model)."""
    found_customer = find_customer_in_text(text)
    sentences = _sentences(text)
    next_steps = [sentence for sentence in sentences if _NEXT_STEP_CUES.search(sentence)]
    # A sentence announcing our next step is not a customer objection even if it mentions 集成 or delivery.
    objections = [_without_speaker(sentence) for sentence in sentences
                  if _OBJECTION_CUES.search(sentence) and sentence not in next_steps]
    explicit_steps = [sentence for sentence in next_steps if _EXPLICIT_NEXT_STEP_RE.search(sentence)]
    next_step = (explicit_steps or next_steps)[-1] if next_steps else None
    return OpportunityCard(
        customer=found_customer[0].name_zh if found_customer else None,
        product=_find_product(text),
        stage=_find_stage(text),  # type: ignore[arg-type]
        objections=objections[:5],
        competitor=_find_competitor(text),
        budget=_find_budget(text),
        next_step=_without_speaker(next_step) if next_step else None,
    )


def extract_opportunity_card(text: str, llm: Any = None) -> OpportunityCard:
    """An opportunity card from a transcript: schema-constrained LLM extraction when `llm` is given
    (fields it leaves empty are filled by the rules), keyword rules otherwise or when the model fails.
    The customer is always resolved to its canonical name when it is a known one.
    """
    rules_card = extract_opportunity_rules(text)
    if llm is None:
        return rules_card
    from salesbot.llm import invoke_structured

    try:
        prompt = load_prompt("extract_opportunity").replace("{transcript}", text)
        model_card = invoke_structured(llm, [("human", prompt)], OpportunityCard)
    except Exception:  # a model failure must not lose the card; the rules still answer
        logger.warning("LLM opportunity extraction failed; using rules", exc_info=True)
        return rules_card
    merged = model_card.model_dump()
    for field, rule_value in rules_card.model_dump().items():
        if merged.get(field) in (None, [], ""):
            merged[field] = rule_value
    if merged.get("customer"):
        found = find_customer_in_text(merged["customer"])
        if found is not None:
            merged["customer"] = found[0].name_zh
    return OpportunityCard.model_validate(merged)


def card_to_action_args(card: OpportunityCard) -> dict[str, Any]:
    """Arguments for a log_opportunity_card action built from a card."""
    return {"customer": card.customer, "product": card.product, "stage": card.stage, "objections": card.objections,
            "competitor": card.competitor, "budget": card.budget, "next_step": card.next_step}
