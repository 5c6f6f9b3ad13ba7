"""Rule-based routing and intent cues (the no-LLM path, and the fallback when a model fails)."""

from __future__ import annotations

import re

from agent.models import Route

_HELP = re.compile(r"^\s*(help|帮助|/help|你能做什么|你会什么|what can you do|怎么用|使用说明)\s*[?？!！]?\s*$", re.I)
_TASK = re.compile(
    r"安排|提醒|回访|跟进|拜访|约[一个]?[次下]?|创建任务|建个?任务|待办|"
    r"\b(follow[- ]?up|remind|schedule|set up a (call|meeting)|create a task|add a task|book a (call|visit))\b", re.I)
_OPPORTUNITY = re.compile(r"商机卡|商机记录|记录商机|录入商机|opportunity card|log (this|an?) opportunity|"
                          r"log the (call|chat|meeting)|记录一下这次(通话|沟通|会议)", re.I)
_STAGE = re.compile(r"(商机|opportunity|deal).{0,20}(推进到|改为|移到|阶段|stage|move)|"
                    r"(move|advance|mark)\b.{0,40}\b(to|as)\b.{0,10}(prospecting|qualification|proposal|"
                    r"negotiation|closed[ _]?(won|lost)|won|lost)", re.I)
_PRICING = re.compile(r"报价方案|报个价|怎么报价|如何报价|报价策略|定价策略|出个价|价格方案|给.{0,20}报价|"
                      r"\b(quote|quotation|pricing (strategy|options?)|price (options|proposal)|how should I price|"
                      r"propose a price)\b", re.I)
_QUANTITY = re.compile(r"\d+\s*(台|套|个|只|units?|pcs|pieces|gateways|monitors|sensors|pumps)", re.I)
_DATA = re.compile(
    r"成交额|销售额|营收|收入|赢单率|成交率|订单数|多少单|多少笔|同比|环比|趋势|月度|季度|按月|按季度|各区域|哪个区域|"
    r"哪个销售|排名|前\d+名|top\s*\d+|\b(revenue|sales (by|per|in)|win rate|deals? (by|per|in|count)|"
    r"how many deals|monthly|quarterly|by region|by rep|by product|year over year|vs\.? 20\d\d|trend|"
    r"average (discount|deal)|total (sales|revenue))\b", re.I)
_RESTRICTED_PRICING = re.compile(
    r"底价|最低价|最低能卖|最低能报|最低可以|成本|毛利|利润率|\b(floor price|floor|lowest price|rock[- ]bottom|"
    r"unit cost|our cost|cost price|margins?|lowest .{0,30}approved)\b", re.I)
_WRITE_SQL = re.compile(r"^\s*(?:删除|删掉|清空|更新|插入|把.{1,40}(?:改成|改为|设为)|"
                        r"(?:delete|drop|truncate|update|insert|alter)\b)", re.I)


_RESTRICTED_TOPICS = {
    "floor price": re.compile(r"底价|最低价|最低能卖|最低能报|最低可以|\b(floor|lowest|rock[- ]bottom)\b", re.I),
    "unit cost": re.compile(r"成本|\b(unit cost|our cost|cost price)\b", re.I),
    "margin": re.compile(r"毛利|利润率|\bmargins?\b", re.I),
}


def asks_for_restricted_pricing(text: str) -> bool:
    """Questions about floor prices, costs or margins (visible to managers and above only)."""
    return bool(_RESTRICTED_PRICING.search(text))


def restricted_pricing_topics(text: str) -> list[str]:
    """Which restricted figures the text asks about ('floor price', 'unit cost', 'margin'), as glossary terms.

    "最低能卖到多少钱" never says 底价, yet asks for it: a manager's answer should quote the floor-price line.
    """
    if not asks_for_restricted_pricing(text):
        return []
    return [topic for topic, pattern in _RESTRICTED_TOPICS.items() if pattern.search(text)]


def asks_to_change_data(text: str) -> bool:
    """'删除…', 'update the deal…': a write request in words (refused by the data route, never answered)."""
    return bool(_WRITE_SQL.search(text))


def route_by_rules(text: str) -> Route:
    """Knowledge unless the words clearly ask for a write, a quote, a data question or help."""
    if _HELP.match(text):
        return "help"
    if _OPPORTUNITY.search(text) or _STAGE.search(text):
        return "task"
    if _TASK.search(text) and not _is_question(text):
        return "task"
    if _PRICING.search(text) and _QUANTITY.search(text):
        return "pricing"
    if _DATA.search(text) or _WRITE_SQL.search(text):
        return "data"
    return "knowledge"


def _is_question(text: str) -> bool:
    """'报价单有效期是多久？' asks about quoting; '给<客户>报价：<产品> 20台' asks for a quote."""
    return text.rstrip().endswith(("?", "？", "吗", "呢"))


_INTERROGATIVE = re.compile(
    r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|could|should|will|would|"
    r"has|have)\b|什么|多少|几[个年月天次]|哪[个些里家种]|怎么样|如何|是否|有没有|能否|可否|是不是", re.I)


def is_question(text: str) -> bool:
    """A message phrased as a question: a question mark or particle at the end, or an interrogative word."""
    return _is_question(text) or bool(_INTERROGATIVE.search(text))


def task_cue_in(text: str) -> bool:
    """The words ask for a write (schedule, remind, log a card, move a stage), question or not."""
    return bool(_TASK.search(text) or _OPPORTUNITY.search(text) or _STAGE.search(text))


def task_kind(text: str) -> str:
    if _OPPORTUNITY.search(text) or len(text) > 240:
        return "log_opportunity_card"
    if _STAGE.search(text):
        return "update_opportunity_stage"
    return "create_follow_up_task"
