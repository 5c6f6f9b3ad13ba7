"""Rules (zh + en lexicons, entity registry, catalog) that turn speaker turns into a card and a price-avoidance count."""

from __future__ import annotations

import re

from knowledge.base import get_entity_registry
from salesbot.text import detect_language
from tools.coach.models import CoachCard, CompetitorPrice, Conversation, Evidence, Objection, Turn
from tools.sales.customers import find_customer_in_text
from tools.sales.opportunity import find_budget, find_stage

PRICE_QUESTION_RE = re.compile(r"多少钱|价格|报价|优惠|折扣|打折|便宜|单价|总价|\b(?:how much|price|pricing|quote|"
                               r"quotation|discount|cost)\b", re.I)
QUOTE_REQUEST_RE = re.compile(r"报个价|报价单|出个报价|给.{0,6}报价|发.{0,4}报价|\b(?:send (?:us |me )?a quote|"
                              r"quotation|formal quote)\b", re.I)
# An answer to a price question names a figure (amount, currency, percent, 折) or commits to sending one.
_PRICE_FIGURE_RE = re.compile(r"\d[\d,.]*\s*(?:万|元|块|折|%|k\b|K\b)|[¥￥$€]\s*\d|\b(?:RMB|CNY|USD|EUR)\s*\d|"
                              r"[一二三四五六七八九]折|\d+\s*(?:percent|off)\b", re.I)
_PRICE_COMMITMENT_RE = re.compile(r"(?:今天|明天|马上|稍后|会后|下午|晚上|尽快).{0,8}(?:发|给|出).{0,6}报价|报价单.{0,6}(?:发|给)|"
                                  r"\b(?:i'll|we'll|will) send (?:you )?(?:the |a )?(?:quote|pricing|price)", re.I)
_OBJECTION_LEXICON: list[tuple[str, re.Pattern[str]]] = [
    ("price", re.compile(r"太贵|贵了|偏高|价格高|超预算|预算不够|预算有限|\b(?:too expensive|expensive|too high|"
                         r"over budget|over our budget)\b", re.I)),
    ("compatibility", re.compile(r"兼容|对接|集成|接口|\b(?:compatib\w*|integrat\w*|interface|HL7|API)\b", re.I)),
    ("delivery", re.compile(r"交期|交货|到货|发货|供货|交付|\b(?:delivery|lead time|ship\w*)\b", re.I)),
    ("after_sales", re.compile(r"售后|维修|保修|维保|响应时间|\b(?:after-sales|support|warranty|repair|"
                               r"maintenance)\b", re.I)),
]
_COMPETITOR_CONCERN_RE = re.compile(r"更便宜|便宜|低|报价|报了|比你们|对比|考虑|\b(?:cheaper|offered|quoted|"
                                    r"compar\w*|considering)\b", re.I)
_QUANTITY_RE = re.compile(r"(?P<count>\d{1,5})\s*(?:台|套|个|件|只|units?\b|pcs\b|devices?\b|sets?\b)", re.I)
_AMOUNT_RE = re.compile(r"(?:[¥￥$]|RMB|CNY|USD)?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*(?P<unit>万元|万|千|元|块|k\b|K\b)?")
_UNIT = {"万元": 10_000, "万": 10_000, "千": 1000, "k": 1000, "元": 1, "块": 1}
_TIMELINE_RE = re.compile(r"(?:(?:今年|明年|本月|下个?月|下周|下季度|年底|年前|年内|月底|季度末|\d{1,2}月份?|Q[1-4]).{0,12}"
                          r"(?:采购|上线|交付|到货|签|决定|落地|招标|预算|完成))|\b(?:by (?:the )?end of \w+|"
                          r"(?:next|this) (?:month|quarter|year)|in Q[1-4]|before \w+)\b", re.I)
_DECISION_MAKER_RE = re.compile(r"(?P<who>[\u4e00-\u9fff]{1,4}(?:院长|主任|总监|总|处长|科长|经理))(?:.{0,8})(?:拍板|决定|说了算|签字|审批|定)|"
                                r"(?:拍板|决定|签字)的?(?:是|人是)(?P<who2>[\u4e00-\u9fff]{1,6})|"
                                r"\b(?P<who3>(?:our |the )?(?:CFO|CEO|CTO|COO|director|VP|head of \w+|[A-Z][a-z]+ [A-Z][a-z]+))"
                                r"\s+(?:makes the (?:final )?(?:call|decision)|decides|signs off|has the final say)", re.I)
# Discovery questions mark the rep's side when no id or sales-DB name does.
_DISCOVERY_RE = re.compile(r"预算|需求|几台|多少台|什么时候|时间表|谁来决定|决策|用在|\b(?:budget|how many|timeline|"
                           r"who decides|decision|requirements?|use case)\b", re.I)
_REP_LABEL_RE = re.compile(r"销售|客户经理|\b(?:sales|rep|account manager|AE)\b", re.I)
_CUSTOMER_LABEL_RE = re.compile(r"客户|采购|\b(?:customer|client|buyer|procurement)\b", re.I)


def _name_key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def assign_sides(conversation: Conversation, user_id: str | None, known_reps: set[str]) -> None:
    """Mark each turn rep or customer (see README "Coach mode" for the order of evidence).

    1. a speaker equal to the --user id, or a name the sales DB knows as a rep (or labelled 销售/Sales) is the rep;
    2. a speaker labelled 客户/Customer or named after a registered customer is the customer;
    3. otherwise the speaker asking the most discovery questions (budget, quantity, timeline) is the rep.
    Screenshot turns arrive already sided (right-hand bubbles are the rep's own).
    """
    turns = conversation.turns
    if all(turn.side != "unknown" for turn in turns):
        return
    speakers = list(dict.fromkeys(turn.speaker for turn in turns))
    rep_keys = {_name_key(name) for name in known_reps}
    if user_id:
        rep_keys.add(_name_key(user_id))
    reps = {speaker for speaker in speakers if _name_key(speaker) in rep_keys or _REP_LABEL_RE.search(speaker)}
    customers = {speaker for speaker in speakers if speaker not in reps and (
        _CUSTOMER_LABEL_RE.search(speaker) or find_customer_in_text(speaker) is not None)}
    if not reps:
        scores = {speaker: sum(1 for turn in turns if turn.speaker == speaker and _DISCOVERY_RE.search(turn.text)
                               and re.search(r"[?？]|吗|呢", turn.text)) for speaker in speakers if speaker not in customers}
        if scores:
            reps = {max(scores, key=lambda name: (scores[name], -speakers.index(name)))}
    for turn in turns:
        turn.side = "rep" if turn.speaker in reps else "customer"


def _amount(match: re.Match[str]) -> float:
    value = float(match["amount"].replace(",", ""))
    return value * _UNIT.get((match["unit"] or "").lower(), 1)


def _competitor_names(text: str) -> list[tuple[str, int]]:
    registry = get_entity_registry()
    names: list[tuple[str, int]] = []
    for found in registry.find(text, ["competitor"]):
        entity = registry.get(found.entity_id)
        if entity is not None:
            names.append((entity.name if detect_language(text) == "zh" else entity.latin_name(), found.end))
    return names


def _products(text: str) -> list[str]:
    from tools.sales.catalog import load_pricing_policy, product_registry

    policy = load_pricing_policy()
    registry = product_registry(policy)
    skus = {product.sku.lower(): product.sku for product in policy.products}
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in sorted(registry.find(text, ["product"]), key=lambda item: item.start - item.end):
        entity = registry.get(match.entity_id)
        sku = skus.get(entity.key.lower()) if entity is not None else None
        # A longer alias ("<product> Pro") hides the shorter one inside it.
        if sku and not any(start <= match.start and match.end <= end for start, end in spans):
            spans.append((match.start, match.end))
            if sku not in found:
                found.append(sku)
    return found


def _is_price_question(text: str) -> bool:
    return bool(PRICE_QUESTION_RE.search(text)) and bool(re.search(r"[?？]|吗|呢|多少|能不能|可以|\b(?:what|how|can|could)\b",
                                                                   text, re.I))


def count_price_avoidance(turns: list[Turn]) -> list[int]:
    """Lines of customer price questions that the rep's next turn left without a figure or a quote commitment."""
    avoided: list[int] = []
    for index, turn in enumerate(turns):
        if turn.side != "customer" or not _is_price_question(turn.text):
            continue
        reply = next((later for later in turns[index + 1:] if later.side == "rep"), None)
        if reply is None:
            continue
        if not (_PRICE_FIGURE_RE.search(reply.text) or _PRICE_COMMITMENT_RE.search(reply.text)):
            avoided.append(turn.line)
    return avoided


def build_card(conversation: Conversation, customer_hint: str | None = None) -> CoachCard:
    """The card with one evidence entry per filled field (first line that supports it)."""
    card = CoachCard()
    evidence: list[Evidence] = []

    def cite(field: str, turn: Turn) -> None:
        if not any(item.field == field and item.line == turn.line for item in evidence):
            evidence.append(Evidence(field=field, line=turn.line, text=turn.text))

    if customer_hint:
        resolved = find_customer_in_text(customer_hint)
        card.customer = resolved[0].name_zh if resolved else customer_hint
    for turn in conversation.turns:
        text = turn.text
        if card.customer is None:
            found = find_customer_in_text(text) or (find_customer_in_text(turn.speaker)
                                                     if turn.side == "customer" else None)
            if found:
                card.customer = found[0].name_zh
                cite("customer", turn)
        for sku in _products(text):
            if sku not in card.products:
                card.products.append(sku)
                cite("products", turn)
        if card.quantity is None and (quantity := _QUANTITY_RE.search(text)):
            card.quantity = int(quantity["count"])
            cite("quantity", turn)
        for name, end in _competitor_names(text):
            if name not in card.competitors:
                card.competitors.append(name)
                cite("competitors", turn)
            price = _AMOUNT_RE.search(text, end)
            if price and price["amount"] and (price["unit"] or re.search(r"[¥￥$]|RMB|CNY|USD", price[0])) and \
                    not any(item.competitor == name for item in card.competitor_prices):
                card.competitor_prices.append(CompetitorPrice(competitor=name, amount=_amount(price),
                                                              currency="CNY", line=turn.line))
                cite("competitor_prices", turn)
        if card.budget is None and (budget := find_budget(text)) is not None:
            card.budget = float(budget)
            cite("budget", turn)
        if card.timeline is None and (timeline := _TIMELINE_RE.search(text)):
            card.timeline = timeline[0].strip()
            cite("timeline", turn)
        if card.decision_maker is None and (maker := _DECISION_MAKER_RE.search(text)):
            who = (maker["who"] or maker["who2"] or maker["who3"]).strip()
            card.decision_maker = re.sub(r"^(?:最后|最终)?(?:是|由)?", "", who) or who
            cite("decision_maker", turn)
        if turn.side == "customer":
            for kind, pattern in _OBJECTION_LEXICON:
                if pattern.search(text):
                    card.objections.append(Objection(type=kind, line=turn.line))  # type: ignore[arg-type]
                    cite("objections", turn)
            if _competitor_names(text) and _COMPETITOR_CONCERN_RE.search(text):
                card.objections.append(Objection(type="competitor", line=turn.line))
                cite("objections", turn)
    card.stage = find_stage(" \n".join(turn.text for turn in conversation.turns))
    card.evidence = evidence
    return card
