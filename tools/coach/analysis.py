"""Rules (zh + en lexicons, entity registry, catalog) that turn speaker turns into a card and a price-avoidance count."""

from __future__ import annotations

import re

from knowledge.base import get_entity_registry
from salesbot.text import detect_language
from tools.coach.models import CoachCard, CompetitorPrice, Conversation, Evidence, Objection, Turn
from tools.coach.objections import objection_types, without_ruled_out
from tools.sales.customers import find_customer_in_text
from tools.sales.models import SeedParameters
from tools.sales.opportunity import find_budget, find_stage

# A customer turn raises price when it names price (asks, pushes, complains); general zh + en cue words.
# 贵 alone is "expensive", but 贵公司/贵司/贵方 is the polite "your company".
PRICE_CUE_RE = re.compile(r"多少钱|价格|价钱|价位|报价|单价|总价|底价|最低(?:价|多少|能给|能到)|参考价|预算价|指导价|大概价|大致价|有个价|"
                          r"(?:你们|您|这个|这款|那款).{0,12}多少[?？]|怎么卖|什么价|[报开给出]个价|几钱|费用|优惠|折扣|"
                          r"打折|让利|便宜|贵(?!公司|司|方|单位|院|厂|校|行)|有个数|给个数|砍价|差价|价差|(?:给|报|开)的价|框架价|协议价|年度价|合同价|成交价|出厂价|含税价|到手价|(?:大概|大致)的?数(?!量|据|字|目)|报(?:过|了)价|"
                          r"(?:低|降|让|少)(?:一点|一些|点)|(?:还有|有没有)(?:降价|优惠)?空间|"
                          r"\b(?:how much|prices?|pricing|priced|quotes?|quotation|discounts?|costs?|fees?|cheaper|above (?:them|theirs)|what(?:'s| is) the damage|going rate|(?:gave|sent|showed|shared) (?:us|me) (?:their |the |some )?(?:numbers|figures|prices|pricing|quotes?)|charging (?:for|us)|"
                          r"(?:what|how much) (?:are|do|would|will) you charge|"
                          r"expensive|pricey|ballpark|best (?:price|offer)|better (?:price|offer)|come down|wiggle room|"
                          r"per (?:unit|device|piece|seat|licen[cs]e)|(?:a|some|the|their|your|any) (?:number|figure)s?|"
                          r"(?:run|set) us(?: back)?)\b", re.I)
QUOTE_REQUEST_RE = re.compile(r"报个价|报价单|出个报价|提供报价|给.{0,6}报价|发.{0,4}报价|\b(?:send (?:us |me )?a quote|"
                              r"quotation|formal quote)\b", re.I)
_QUESTION_FORM_RE = re.compile(r"[?？]|吗|呢|多少|能不能|可不可以|可以|请|吧|\b(?:what|how|can|could|would|please|share|"
                               r"send|tell|give)\b", re.I)
# Agreeing to or acknowledging a price already given is not raising it again ("价格没问题", "thanks for the quote").
_PRICE_ACCEPTED_RE = re.compile(r"(?:价格|报价|这个价).{0,4}(?:没问题|可以接受|能接受|合适|同意|收到|看过了|行)|"
                                r"(?:收到|看过|看了)(?:了|你们的|您的)?(?:报价|价格)|"
                                r"\b(?:price|pricing|quote) (?:is |looks |sounds )?(?:fine|acceptable|works|ok|okay|good)\b|"
                                r"\b(?:thanks for|got|received) (?:the |your )?(?:quote|quotation|pricing|price)\b", re.I)
# Price said without raising it: accepted or agreed earlier, not the concern (yet), or the buyer's own cost of a
# problem ("停机一小时损失十万", "downtime costs us $18,000"). These spans are taken out before looking for price cues.
_PRICE_NOT_RAISED_RE = re.compile(
    r"(?:价格|报价|价钱|价位|这个价)单?(?:上次|之前|已经|基本|都)?[^，,。；;！!？?]{0,10}(?:谈好|谈妥|谈得差不多|谈下来)了?|"
    r"(?:价格|报价|价钱|价位)(?:方面|这块)?(?:先不急|不着急|先放一放|不是(?:问题|关键|重点|主要问题)|不算(?:问题|贵)|"
    r"还?在(?:我们的?)?预算(?:范围)?内|问题不大)|"
    r"(?:价格|报价|价钱)(?:就|还是)?(?:按|照)(?:你们|您)?(?:上次|之前|原来)(?:报|谈|给)的(?:来|办|算|走)?|"
    r"(?:价格|报价|价钱|价位)[^，,。；;？?]{0,12}(?:跟|和|与)[^，,。；;？?]{0,10}(?:差不多|一致|相符|持平)(?![多少])|"
    r"(?:价格|报价|价钱)(?:方面)?(?:我们|我)?心里有数|(?:价格|报价|价钱)(?:方面)?(?:没有|无)异议|"
    r"(?:价格|报价|价钱)(?:可以|能|都|后面|以后|之后|回头|稍后)?再(?:谈|说|议|聊)|"
    r"便宜没好货|一分钱一分货|不(?:在乎|在意|差)(?:价格|钱)|(?:停机|停产|停线|宕机)[^，,。；;]{0,10}(?:损失|成本)|"
    r"\b(?:price|pricing|cost) (?:is not|isn't|is) (?:not )?(?:the|our|my) (?:issue|problem|concern|priority|main concern)\b|"
    r"\bnot (?:about|just about) (?:the )?price\b|\bprice aside\b|"
    r"\b(?:price|pricing|quote)\b[^.?!;]{0,25}\b(?:is|looks|sounds|seems|was|are)\s+(?:fine|acceptable|ok|okay|good|"
    r"reasonable|competitive|agreed|settled)\b|"
    r"\b(?:downtime|outages?|stoppages?|an hour|a day|every hour|each hour)\b[^.?!;]{0,30}\bcosts? us\b", re.I)
# The buyer complains that the price keeps being dodged ("上次你们也是这么说的"): pressing for it again.
_DODGE_COMPLAINT_RE = re.compile(r"(?:上次|每次|一直|老是|总是|又)(?:你们|您)?(?:也|都|还)?(?:是)?(?:这么|这样)(?:说|讲|回)|"
                                 r"\byou (?:said|told me) (?:that|the same)(?: thing)? (?:last (?:time|week)|before)\b|"
                                 r"\bsame answer as (?:last time|before)\b", re.I)
# A competitor's price as a bargaining move: a verb of quoting/offering next to an amount.
_CITED_PRICE_RE = re.compile(r"报了|报的|报价是|报价为|开价|给的价|\b(?:quoted|offered|offers|charges?|priced)\b", re.I)
# An answer to a price question names a figure (an amount, a currency, 折, a percentage off), a discount, or commits
# to sending the quote; "99.9%" alone is not a price, so a percentage needs a discount word near it.
# 万 before a count word (1万多家客户) and k without a price context (10k installs) are not prices either.
_PRICE_FIGURE_RE = re.compile(r"\d[\d,.]*\s*(?:万(?!多|余|家|台|套|个|人|次|用户|客户)|元|块(?!屏|板|电池)|折|"
                              r"[kK]\b(?=\s*(?:per|each|a unit|/)))|[¥￥$€]\s*\d|\b(?:RMB|CNY|USD|EUR)\s*\d|"
                              r"[一二三四五六七八九]折|\d[\d.]*\s*(?:%|percent)\s*(?:off|discount|的?优惠|的?折扣)|"
                              r"(?:优惠|折扣|降价?|让利?|便宜|\b(?:discount|off)\b).{0,6}\d[\d.]*\s*(?:%|percent)|"
                              r"(?:降|让|优惠|折扣|少)[^，,。；;]{0,4}(?:\d+(?:\.\d+)?|[一二两三四五六七八九十])\s*个点|"
                              r"\d[\d,.]*\s*(?:euros?|dollars?|yuan|RMB|CNY|USD|EUR)\b|"
                              r"(?:给到|做到|降到|让到|压到|可以到|按)\s*\d{3,}|\b(?:hold|keep|leave) it at\s*\d[\d,]{2,}|\b(?:go|come down|drop|(?:bring|get|take) it(?: down)?) to\s*\d[\d,]{2,}|"
                              r"\d+\s*(?:percent )?off\b|(?:每|一)(?:台|套|个|件|只)\s*\d{3,}|\d{3,}\s*(?:每|一)(?:台|套|个|件|只)|"
                              r"单价\s*\d{3,}|\d{3,}\s*(?:per|a|each) (?:unit|piece|device|gateway|sensor|monitor|pump|licen[cs]e|"
                              r"seat|node|site|station)s?\b", re.I)
_DISCOUNT_OFFER_RE = re.compile(r"(?:可以|能|给您|给你们)(?:给|打|做|再)?(?:些|点|一些|一个)?(?:优惠|折扣|让利)|"
                                r"\b(?:can|could|will) (?:offer|give) (?:you )?(?:a |an )?(?:\w+ )?discount\b", re.I)
_PRICE_COMMITMENT_RE = re.compile(r"(?:今天|明天|马上|稍后|会后|下午|晚上|尽快|周[一二三四五六日]|下周[一二三四五六日]?).{0,8}"
                                  r"(?:发|给|出).{0,6}(?:报价|价格)|报价单?.{0,6}(?:发|给)|"
                                  r"\b(?:i'll|we'll|i will|we will|i can|we can) (?:send|have|get|email|give) (?:you )?(?:the |a |our )?"
                                  r"(?:formal |full |final |firm |exact |proper )?(?:quote|quotation|pricing|price|numbers?|figures?)", re.I)
# The quote is already with the customer ("报价单昨天已经发您邮箱了", "the quote is in your inbox").
_QUOTE_SENT_RE = re.compile(r"报价单?[^，,。；;]{0,8}(?:已经|已)(?:发|给|寄|传)|(?:已经|已)(?:把|将)?(?:报价|价格)(?:单|表)?(?:发|给|寄|传)|"
                            r"\b(?:quote|quotation|pricing|price list)\b[^.?!;]{0,30}\b(?:is|has been|was|went) (?:already )?"
                            r"(?:in your inbox|sent|attached|on its way|in the (?:mail|post)|out)\b|"
                            r"\battached (?:is |are |please find )?(?:our|the) (?:formal |full |revised |updated )?"
                            r"(?:quote|quotation|pricing|price list)\b|"
                            r"\b(?:see|find|check|open) (?:the |our )?attached (?:quote|quotation|pricing|price list)\b|"
                            r"\b(?:i|we)(?:'ve| have)? (?:already )?(?:sent|emailed|mailed|attached) (?:you )?(?:the |our |a )?"
                            r"(?:formal |full |revised |updated )?(?:quote|quotation|pricing|price list)\b", re.I)
# Meeting a rival's stated price is a price commitment even without repeating the figure ("we can match that").
_PRICE_MATCH_RE = re.compile(r"\b(?:can|could|will|we'll|happy to) (?:match|meet|beat) (?:their|that|the|this|your|his|her|its|\w+'s)\b|"
                             r"(?:跟|和|按|照)[^，,。；;]{0,8}(?:一样的价|同样的价|同价|一个价)|价格?(?:跟|和)[^，,。；;]{0,8}(?:一样|持平)",
                             re.I)
# A rep turn that asks something back ("几台？", "both lines or one?"): the answer may come in the next reply.
_ASKS_BACK_RE = re.compile(r"[?？]|吗|呢")
# "You'll have the figure by Thursday", "they'll send you one this week" (a quote, named in the same turn).
_YOU_WILL_HAVE_RE = re.compile(r"\byou(?:'ll| will) (?:have|get|receive) (?:the|a|our|my|their) (?:firm |final |formal )?"
                               r"(?:figure|number|quote|quotation|price|pricing|numbers)s?\b", re.I)
_SEND_YOU_ONE_RE = re.compile(r"\b(?:i|we|they|he|she)(?:'ll| will) (?:send|email|get) (?:you )?(?:one|it)\b", re.I)
_QUOTE_WORD_RE = re.compile(r"quot|报价|\bpric", re.I)
# A bare yes to a quote request with a time on it ("Will do today", "好的，今天发您") commits to sending it.
_AGREES_RE = re.compile(r"^(?:好的?|行|可以|没问题|收到|马上)|\b(?:will do|sure|of course|absolutely|no problem|ok(?:ay)?|"
                        r"certainly|yes)\b", re.I)
# Deferring the price ("回头再说", "let me check", "we'll get back to you") is no commitment even when it says 报价.
_PRICE_DEFERRAL_RE = re.compile(r"回头再|后面再|以后再|再说|再讲|再谈|再议|先看看|等方案|方案出来|不好说|看情况|看配置|看需求|"
                                r"商量一下|请示|问问公司|\b(?:let me check|get back to you|circle back|depends on|"
                                r"it depends|first walk you|not sure yet|hard to say)\b", re.I)
_COMMITMENT_TIME_RE = re.compile(r"今天|明天|马上|稍后|会后|今晚|下午|晚上|尽快|周[一二三四五六日]|下周|\b(?:today|tomorrow|tonight|"
                                 r"this (?:morning|afternoon|evening|week)|by (?:monday|tuesday|wednesday|thursday|friday|"
                                 r"end of (?:day|week)|eod)|within \d+ (?:hours|days))\b", re.I)
_CLASSIFIERS = r"台|套|个|件|只|支|块|路|units?\b|pcs\b|devices?\b|sets?\b"
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "¥": "CNY", "￥": "CNY", "usd": "USD", "eur": "EUR", "rmb": "CNY", "cny": "CNY"}
_AMOUNT_RE = re.compile(r"(?:[¥￥$€]|RMB|CNY|USD|EUR)?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*(?P<unit>万元|万|千|元|块|k\b|K\b)?")
_CURRENCY_MARK_RE = re.compile(r"[¥￥$€]|RMB|CNY|USD|EUR|euros?\b|dollars?\b", re.I)
# "6900一台", "€150 apiece", "才3500", "came in at 2,450": a figure with no unit or currency that still is a price.
_PER_UNIT_AFTER_RE = re.compile(r"\s*(?:[一每]\s*(?:台|套|个|件|只|支)|/\s*(?:台|套|个|unit)|(?:per|a|each) (?:unit|piece|device|"
                                r"sensor|gateway|monitor|pump)|each\b|apiece\b)", re.I)
_QUOTING_VERB_BEFORE_RE = re.compile(r"(?:才|只要|只卖|报了?|报价|报的|开价|卖|给的是|给的|给到|每台|每个|每套|\b(?:quoted|charges?|offered|came in at|priced at|"
                                     r"at)\b)\s*(?:us\s*)?(?:[¥￥$€]|RMB|CNY|USD|EUR)?\s*$", re.I)
_UNIT = {"万元": 10_000, "万": 10_000, "千": 1000, "k": 1000, "元": 1, "块": 1}
_ZH_MONTH = r"(?:\d{1,2}|[一二三四五六七八九十]|十[一二])月份?"
_EN_MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
_TIMELINE_RE = re.compile(r"(?:(?:今年|明年|本月|这个月|下个?月|下周[一二三四五六日天]?|下季度|年底|年前|年内|月底|季度末|"
                          + _ZH_MONTH + r"|Q[1-4]).{0,12}"
                          r"(?:采购|上线|交付|到货|签|定|决定|落地|招标|预算|完成|装|要用|用上|使用|投用|启用|开诊|开工|开业|投产|开通|验收|竣工|要到|到位|送到|"
                          r"试运行|投运|上会|之前|以前|前))|"
                          r"(?:下个?月|本月|这个月|今年|明年)(?:初|上旬|中旬|下旬|底)|"
                          r"(?:国庆|春节|元旦|五一|中秋|端午|过年|开学|汛期|雨季|旺季|冬季|夏季|年终)(?:节)?(?:前|之前|以前|后|之后|以后)|"
                          r"(?:年后|节后)(?:开工|上线|启动|采购|开始|就要)|"
                          r"(?:今年|明年)(?:[一二三四1-4]季度|[上下]半年)|"
                          r"\b(?:by (?:the )?end of \w+|(?:next|this) (?:month|quarter|year)|in Q[1-4]|before (?!I\b|we\b|you\b|they\b|it\b)\w+|ahead of (?:the|our) \w+|"
                          r"in time for|need (?:them|it|these|those|the \w+) (?:in|within) (?:\d+|one|two|three|four|five|six|eight|ten|twelve)\b|(?:by|before|in|until|over) (?:the )?(?:summer|winter|spring|autumn|fall)\b|"
                          r"by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|next \w+|\w+ \d{1,2}\b)|"
                          r"within \d+ (?:days|weeks|months)|\d+(?:-\d+)? (?:weeks|months) from|"
                          r"(?:(?:on|by|before|from|starts?|opens?|until) )?(?:" + _EN_MONTH + r") \d{1,2}(?:st|nd|rd|th)?|"
                          r"(?:(?:on|by|before|from|starts?|opens?|until) )?\d{1,2}(?:st|nd|rd|th)? (?:" + _EN_MONTH + r")|"
                          # "in March", "by mid-February"; not May, which is as often the verb.
                          r"(?:in|by|before|until|from|after|early|mid|late|end of)[ -](?:early |mid-?|late )?"
                          r"(?:January|February|March|April|June|July|August|September|October|November|December))\b|"
                          r"\d+\s*(?:天|周|个月)内", re.I)
_DECISION_MAKER_RE = re.compile(r"(?P<who>[\u4e00-\u9fff]{1,4}(?:院长|主任|总监|总经理|董事长|厂长|局长|所长|部长|总|处长|科长|经理))(?:.{0,8})(?:拍板|决定|说了算|签字|审批|(?<![一这那大小分两几每整])批(?!量|次|货|号)|定)|"
                                r"(?:拍板|决定|签字)的?(?:是|人是)(?P<who2>[\u4e00-\u9fff]{1,6})|"
                                r"\b(?P<who3>(?:our |the )?(?:CFO|CEO|CTO|COO|director|VP|head of \w+|(?:Dr|Mr|Ms|Mrs|Prof)\.? [A-Z][a-z]+|"
                                r"[A-Z][a-z]+ [A-Z][a-z]+))"
                                r",?\s+(?:who )?(?:makes the (?:final )?(?:call|decision)|decides|signs off|"
                                r"has the (?:final|last) (?:say|word)|calls the shots|owns the decision|"
                                r"approves|will decide|will sign|signs (?:the )?(?:contract|order|PO|purchase order|deal)|has (?:the )?(?:final )?sign-off)", re.I)
# "the final sign-off sits with our CTO, Karin Holm": the name, else the role.
_DECISION_SITS_WITH_RE = re.compile(r"\b(?:sign-off|say|decision|call|approval|word) (?:(?:sits|rests|lies|is|stays) with|"
                                    r"(?:is|will be|gets) (?:made|taken|signed off) by) "
                                    r"(?:our |the )?(?P<role>(?:[A-Za-z]+ ){0,2}?[A-Za-z]+)"
                                    r"(?:, (?P<name>[A-Z][a-z]+ [A-Z][a-z]+))?\b")
# The speaker names themself as the one who decides ("我这边定了就行", "I make the call").
_SELF_DECIDES_RE = re.compile(r"我(?:这边|来)?(?:定了?就行|说了算|拍板|来定|决定就行)|\bI (?:make the (?:final )?call|decide|sign off|"
                              r"have the final say)\b", re.I)
_LEADING_FILLER_RE = re.compile(r"^(?:最后|最终|还是|还要|需要|要|得|由|是|让|请|等|我们|咱们|我方|贵方)+")
_NAMED_PERSON_RE = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b")
_APPOSITIVE_NAME_RE = re.compile(r"\b((?:Dr|Mr|Ms|Mrs|Prof)\.? [A-Z][a-z]+|[A-Z][a-z]+ [A-Z][a-z]+),\s+"
                                 r"(?:(?:our|the|their)\s+(?:[a-z]+\s+){0,3})?$")
# Discovery questions mark the rep's side when no id or sales-DB name does.
_DISCOVERY_RE = re.compile(r"预算|需求|几台|多少台|什么时候|时间表|谁来决定|决策|用在|\b(?:budget|how many|timeline|"
                           r"who decides|decision|requirements?|use case|what are you looking for)\b", re.I)
# "我"/"me" is the exporting user's own side in chat exports and screenshots: the rep who runs the coach.
_REP_LABEL_RE = re.compile(r"销售|客户经理|^(?:我|me)$|\b(?:sales|rep|account manager|AE)\b", re.I)
_CUSTOMER_LABEL_RE = re.compile(r"客户|采购|\b(?:customer|client|buyer|procurement)\b", re.I)
# What a vendor says ("our X", an offer, a follow-up promise) and what a buyer says ("your price", "we need N").
_REP_CUE_RE = re.compile(r"我们的(?:产品|方案|设备)?|我(?:会|来)?(?:把|安排|整理|准备|约)|给您|可以给到|可以做到|能给到|"
                         r"\b(?:our (?:\w+ )?(?:product|solution|price|list price|team)|we can offer|(?:i'll|i will|let me) (?:send|"
                         r"prepare|set up|get back|have|include|put together|share)|we can support)\b", re.I)
_CUSTOMER_CUE_RE = re.compile(r"你们|贵公司|我们(?:需要|大概要|要|计划|想|拟)|\b(?:your (?:price|product|quote|pricing)|"
                              r"we(?:'d| would)? need|we are looking|we're looking|our budget|our (?:legacy|existing|current|old) (?:\w+ )?"
                              r"(?:systems?|RTUs?|PLCs?|equipment|devices|software|platform|sites?|plants?))\b", re.I)


# A buyer's organisation the registry does not know (a new prospect), named the way organisations are in general
# language: capitalised words ending in an organisation noun ("... Water Authority", "... Clinic Group"), or a
# Chinese name ending in one (…医院, …集团, …有限公司) after a self-introduction or a clause boundary.
_ORG_NOUNS_EN = (r"Hospitals?|Clinics?|Health(?:care)?|Medical Cent(?:er|re)|Group|Authority|Council|Hydro|Energy|Power|"
                 r"Utilities|Water|Works|Mills?|Manufacturing|Industries|Logistics|Pharma(?:ceuticals?)?|Steel|Foods|"
                 r"Lab(?:oratorie)?s?|Inc|Ltd|LLC|GmbH|AG|AS|AB|Company|Corporation|Corp|Holdings|University|Institute|"
                 r"Port|Airport|Railways?|Transit")
_PROSPECT_EN_RE = re.compile(r"(?<![\w&'.-])((?:[A-Z][\w&'.-]*\s+){1,4}(?:" + _ORG_NOUNS_EN + r"))\b")
_PROSPECT_LEADING_RE = re.compile(r"^(?:(?:The|Our|Your|This|That|We|Hi|Hello|Dear|At|From|I'm|I am)\s+)+")
_PROSPECT_ZH_RE = re.compile(r"(?:^|[，,。：:；;！!？?\s]|我是|我们是|这边是|这里是|来自|代表)"
                             r"((?!我|你|贵|咱|本|这|那|其他|别的|另外|上次|之前|听说)[\u4e00-\u9fff]{2,10}?"
                             r"(?:医院|医疗中心|保健院|卫生院|诊所|集团|股份有限公司|有限公司|公司|水务|电力|物流|制药|钢铁|研究院|大学)(?:集团有限公司|股份有限公司|有限公司|集团|公司)?)")


def _prospect_name(text: str) -> str | None:
    """An organisation the buyer names that no registry entity (customer, competitor, product, partner) is part of."""
    registry = get_entity_registry()
    for match in [*_PROSPECT_EN_RE.finditer(text), *_PROSPECT_ZH_RE.finditer(text)]:
        name = _PROSPECT_LEADING_RE.sub("", match[1]).strip()
        # A name the registry resolves only loosely ("某某第三人民医院" → a registered 人民医院) would be filed under that
        # customer by the gate: no prospect then, rather than the wrong customer.
        if len(name.split()) < 2 and name.isascii() or registry.find(name) or registry.resolve(name) is not None:
            continue
        own = {_name_key(company) for company in own_company_names()}
        if any(_name_key(name) in company or company in _name_key(name) for company in own):
            continue
        return name
    return None


def _name_key(name: str) -> str:
    """Compare speaker labels and rep ids without case, spaces, dots or a bracketed role ("Kai Lund" = "kai.lund")."""
    return re.sub(r"[\W_]+", "", re.sub(r"[（(\[【].*?[)）\]】]", "", name)).casefold()


def _seed_parameters() -> SeedParameters | None:
    """The seed parameters that filled the sales DB (reps, the company itself); None without a readable seed file."""
    try:
        from salesbot.settings import get_settings
        from salesbot.yaml_files import load_yaml_model
        from tools.sales.seed import DEMO_SEED_FILE

        return load_yaml_model(get_settings().seed_file or DEMO_SEED_FILE, SeedParameters)
    except Exception:  # no readable seed file: the other evidence still applies
        return None


def own_company_names() -> set[str]:
    """The selling company's own names (zh and en), which a buyer may say but which are no prospect."""
    parameters = _seed_parameters()
    if parameters is None:
        return set()
    return {name for name in (parameters.company.name_zh, parameters.company.name_en) if name}


def rep_display_names(user_ids: set[str]) -> set[str]:
    """The display names of these rep user ids, from the seed parameters that filled the sales DB's rep column."""
    parameters = _seed_parameters() if user_ids else None
    if parameters is None:
        return set()
    wanted = {_name_key(user) for user in user_ids}
    return {rep.name for rep in parameters.reps if _name_key(rep.user) in wanted}


def _side_score(speaker: str, turns: list[Turn]) -> int:
    """Vendor-talk minus buyer-talk over one speaker's turns; the higher it is, the likelier the rep."""
    score = 0
    for turn in turns:
        if turn.speaker != speaker:
            continue
        text = turn.text
        if _DISCOVERY_RE.search(text) and re.search(r"[?？]|吗|呢", text):
            score += 1
        if _REP_CUE_RE.search(text):
            score += 1
        if _CUSTOMER_CUE_RE.search(text) or _is_price_question(text):
            score -= 1
    return score


def assign_sides(conversation: Conversation, user_id: str | None, known_reps: set[str]) -> None:
    """Mark each turn rep or customer (see README "Coach mode" for the order of evidence).

    1. a speaker equal to the --user id, a rep id the sales DB knows or that rep's display name (or labelled
       销售/Sales) is the rep;
    2. a speaker labelled 客户/Customer or named after a registered customer is the customer;
    3. otherwise the speaker whose turns read most like a vendor's (discovery questions, "our product", offers)
       and least like a buyer's (price questions, "your price", "we need") is the rep.
    Screenshot turns arrive already sided (right-hand bubbles are the rep's own).
    """
    turns = conversation.turns
    if all(turn.side != "unknown" for turn in turns):
        return
    speakers = list(dict.fromkeys(turn.speaker for turn in turns))
    rep_keys = {_name_key(name) for name in known_reps | rep_display_names(known_reps)}
    if user_id:
        rep_keys.add(_name_key(user_id))
    rep_keys.discard("")
    reps = {speaker for speaker in speakers if _name_key(speaker) in rep_keys or _REP_LABEL_RE.search(speaker)}
    customers = {speaker for speaker in speakers if speaker not in reps and (
        _CUSTOMER_LABEL_RE.search(speaker) or find_customer_in_text(speaker) is not None)}
    if not reps:
        candidates = [speaker for speaker in speakers if speaker not in customers]
        scores = {speaker: _side_score(speaker, turns) for speaker in candidates}
        # With one candidate left next to known customers it is the rep; otherwise it must out-score the others.
        if len(candidates) == 1 and customers:
            reps = set(candidates)
        elif len(candidates) > 1:
            best = max(scores.values())
            leaders = [speaker for speaker in candidates if scores[speaker] == best]
            if len(leaders) == 1:
                reps = set(leaders)
    for turn in turns:
        turn.side = "rep" if turn.speaker in reps else "customer" if reps or turn.speaker in customers else "unknown"


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
    return bool(PRICE_CUE_RE.search(text)) and bool(_QUESTION_FORM_RE.search(text))


def _cites_competitor_price(text: str) -> bool:
    """A competitor's price stated as a figure ("<competitor> quoted us $2,600", "<competitor>报的2.9万")."""
    return bool(_PRICE_FIGURE_RE.search(text)) and bool(_CITED_PRICE_RE.search(text) or _competitor_names(text))


def _names_price(text: str) -> bool:
    """A figure, a discount, a quote already sent or meeting a rival's price: the price is on the table."""
    return bool(_PRICE_FIGURE_RE.search(text) or _DISCOUNT_OFFER_RE.search(text) or _QUOTE_SENT_RE.search(text)
                or _PRICE_MATCH_RE.search(text))


def _answers_price(text: str) -> bool:
    """A figure or a discount answers, and so do a quote already sent and meeting a rival's price; so does a promise
    to send the quote, unless it is an open-ended deferral ("回头再给您报价" defers, "请示一下，明天给您报价" commits)."""
    if _names_price(text):
        return True
    if _YOU_WILL_HAVE_RE.search(text) or (_SEND_YOU_ONE_RE.search(text) and _QUOTE_WORD_RE.search(text)):
        return bool(_COMMITMENT_TIME_RE.search(text)) or not _PRICE_DEFERRAL_RE.search(text)
    if not _PRICE_COMMITMENT_RE.search(text):
        return False
    return bool(_COMMITMENT_TIME_RE.search(text)) or not _PRICE_DEFERRAL_RE.search(text)


def _agrees_with_time(text: str) -> bool:
    """A yes with a time and no deferral: to a quote request, that is the promise to send it."""
    return bool(_AGREES_RE.search(text) and _COMMITMENT_TIME_RE.search(text)) and not _PRICE_DEFERRAL_RE.search(text)


def price_talk(text: str) -> str:
    """The turn without what mentions price but does not raise it (accepted, agreed, not the concern, own costs)."""
    return _PRICE_NOT_RAISED_RE.sub(" ", _PRICE_ACCEPTED_RE.sub(" ", without_ruled_out(text)))


def _raises_price(text: str, price_on_table: bool) -> bool:
    """The customer asks about, pushes on or complains about price, or counters with a competitor's price.

    A competitor's price said before any price talk is background, not a demand; once a price is asked for or
    given, citing a competitor's is a push for ours, and so is a complaint about it ("还是高了", "still above them").
    """
    talk = price_talk(text)
    if _cites_competitor_price(talk) and not _is_price_question(talk):
        return price_on_table
    # "Is it under 30,000 yuan?": a question naming an amount asks the price.
    if _PRICE_FIGURE_RE.search(talk) and re.search(r"[?？]|吗", talk):
        return True
    complains = "price" in objection_types(talk, False, True)
    return bool(PRICE_CUE_RE.search(talk)) or (price_on_table and (complains or bool(_DODGE_COMPLAINT_RE.search(talk))))


# A short question right after a price raise went unanswered ("Any rough idea?", "大概呢？") presses on the same raise.
_SHORT_QUESTION_RE = re.compile(r"^[^.?!。？！]{1,24}[?？]$|^.{1,8}(?:呢|吗)[?？]?$")


def _presses_on(text: str) -> bool:
    return bool(_SHORT_QUESTION_RE.match(text.strip())) and not objection_types(text, False)


def _exchanges(turns: list[Turn]) -> list[tuple[list[Turn], list[Turn]]]:
    """Consecutive customer turns paired with the rep turns that follow them (one chance to answer each)."""
    pairs: list[tuple[list[Turn], list[Turn]]] = []
    for turn in turns:
        if turn.side == "customer":
            if not pairs or pairs[-1][1]:
                pairs.append(([], []))
            pairs[-1][0].append(turn)
        elif turn.side == "rep":
            if not pairs:
                pairs.append(([], []))
            pairs[-1][1].append(turn)
    return pairs


def price_raises(turns: list[Turn]) -> list[tuple[Turn, bool]]:
    """Each customer price raise (its first turn) with whether the rep's next turn(s) answered it.

    A reply that asks something back ("几台？", "both lines or the pilot only?") and gives no figure is answered when
    the rep's next reply gives one: asking the quantity before quoting is not avoiding the price.
    """
    raises: list[tuple[Turn, bool]] = []
    price_on_table = False
    asked_back: int | None = None  # the raise whose reply was a question, waiting for the next reply
    for customer_turns, rep_turns in _exchanges(turns):
        answers = [_answers_price(turn.text) for turn in rep_turns]
        if asked_back is not None and rep_turns:
            if any(answers):
                raises[asked_back] = (raises[asked_back][0], True)
            asked_back = None
        pressing = bool(raises) and not raises[-1][1]
        raising = next((turn for turn in customer_turns if _raises_price(turn.text, price_on_table)
                        or (pressing and _presses_on(turn.text))), None)
        if raising is not None:
            price_on_table = True
            if rep_turns:
                quote_requested = bool(QUOTE_REQUEST_RE.search(raising.text))
                answered = any(answered or (quote_requested and _agrees_with_time(turn.text))
                               for turn, answered in zip(rep_turns, answers, strict=True))
                raises.append((raising, answered))
                if not answered and _ASKS_BACK_RE.search(rep_turns[-1].text):
                    asked_back = len(raises) - 1
        if any(_names_price(turn.text) for turn in rep_turns):
            price_on_table = True
    return raises


def rep_named_a_price(turns: list[Turn]) -> bool:
    """Whether any rep turn gives a figure, a discount or says the quote was sent (a promise to send it is not)."""
    return any(turn.side == "rep" and _names_price(turn.text) for turn in turns)


def count_price_avoidance(turns: list[Turn]) -> list[int]:
    """Lines of customer price raises that the rep's next turn left without a figure, discount or quote promise."""
    return [turn.line for turn, answered in price_raises(turns) if not answered]


def _price_pushes(turns: list[Turn]) -> list[Turn]:
    """Price raised again (not by a competitor's figure) after an unanswered one: a price objection."""
    pushes: list[Turn] = []
    avoided_before = False
    for turn, answered in price_raises(turns):
        if avoided_before and not _cites_competitor_price(turn.text):
            pushes.append(turn)
        avoided_before = avoided_before or not answered
    return pushes


def _competitor_price(text: str, name_end: int) -> re.Match[str] | None:
    """The first amount after a competitor's name when it is a price: it has a unit (万, k) or a currency, or,
    bare, a per-unit word after it ("6900一台", "150 apiece") or a quoting verb before it ("才3500", "came in at")."""
    price = _AMOUNT_RE.search(text, name_end)
    if not price or not price["amount"]:
        return None
    if price["unit"] or _CURRENCY_MARK_RE.search(price[0]) or _CURRENCY_MARK_RE.match(text, price.end()):
        return price
    start = price.start("amount")
    bare_price = _amount(price) >= 100 and (_PER_UNIT_AFTER_RE.match(text, price.end("amount"))
                                            or _QUOTING_VERB_BEFORE_RE.search(text[name_end:start]))
    return price if bare_price else None


def _currency(amount_text: str) -> str:
    """The currency a stated amount names by symbol or code; CNY when it names none (万, 元)."""
    found = re.search(r"[$€¥￥]|\b(?:USD|EUR|RMB|CNY)\b", amount_text, re.I)
    return _CURRENCY_SYMBOLS.get(found[0].lower(), "CNY") if found else "CNY"


_UNITS_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                "seventeen eighteen nineteen").split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD_VALUES = {word: index for index, word in enumerate(_UNITS_WORDS, 1)} | {
    word: 10 * index for index, word in enumerate(_TENS_WORDS, 2)}
# "twenty-five", "forty", "twelve": a count of up to 99 spelled out (a dozen and larger words are rarely counts).
_NUMBER_WORDS = (rf"(?:{'|'.join(_TENS_WORDS)})(?:[\s-](?:{'|'.join(_UNITS_WORDS[:9])}))?|"
                 rf"(?:{'|'.join(sorted(_UNITS_WORDS, key=len, reverse=True))})")


def _quantity_re() -> re.Pattern[str]:
    """A count before a classifier (台, 套, units) or a product noun the catalog's English names end in (sensors)."""
    registry = get_entity_registry()
    nouns = sorted({words[-1].lower() for entity in registry.of_type("product")
                    if (words := entity.latin_name().split()) and words[-1].isalpha() and len(words[-1]) > 2})
    noun_pattern = "|".join(re.escape(noun) for noun in nouns)
    product_nouns = rf"(?:[A-Za-z][A-Za-z0-9-]*\s+){{0,3}}?(?:{noun_pattern})(?:e?s)?\b" if nouns else "(?!)"
    # "200 of the <product alias>": a count of a product named by its registry alias.
    aliases = sorted({alias for entity in registry.of_type("product") for alias in entity.aliases
                      if alias.isascii() and len(alias) > 1}, key=len, reverse=True)
    alias_pattern = "|".join(re.escape(alias) for alias in aliases) or "(?!)"
    # Not the digit of a model name ("M7 gateway") or the tail of an amount ("$2,600 per unit").
    # "about 250 of them" counts the things just named.
    return re.compile(rf"(?:(?<![A-Za-z0-9_.,$¥￥€])(?P<count>\d{{1,5}})|\b(?P<words>{_NUMBER_WORDS}))\s*"
                      rf"(?:{_CLASSIFIERS}|(?:of (?:the |these |those |your |our )?)?{product_nouns}|"
                      rf"of (?:the |these |those |your |our )?(?:{alias_pattern})\b|"
                      rf"(?P<of_them>of (?:them|those|these)\b))", re.I)


# "每站1台", "one gateway each", "one per station": a count per site, not the order's size.
_PER_EACH_BEFORE_RE = re.compile(r"每\s*[\u4e00-\u9fff]{1,3}\s*$")
_PER_EACH_AFTER_RE = re.compile(r"\s*(?:each\b|apiece\b|per (?!unit|piece|device)\w+|a (?:site|station|line|room|ward|plant)\b)",
                                re.I)


_MONEY_WORD_RE = re.compile(r"\b(?:dollars?|euros?|yuan|RMB|USD|EUR|CNY|bucks)\b|万|元|块钱", re.I)


def _order_counts(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """The count matches of a turn that can be the order's size (not a per-site count, not "one of them", not an
    amount such as "900 dollars a gateway")."""
    return [match for match in pattern.finditer(text)
            if not _PER_EACH_BEFORE_RE.search(text[:match.start()]) and not _PER_EACH_AFTER_RE.match(text, match.end())
            and not (match["of_them"] and _count(match) < 2) and not _MONEY_WORD_RE.search(match[0])]


# The rep asks how many / what budget, and the buyer's next turn opens with the bare figure ("Thirty, ...", "45万，...").
# "what finance approved: RMB 400k", "预算批了45万": an approved amount is the budget.
_APPROVED_AMOUNT_RE = re.compile(r"(?:\bapproved|\bsigned off|\bsanctioned|批了|批下来了?|批复了?)[^.。;；]{0,12}?"
                                 r"(?P<currency>[¥￥$€]|\bRMB|\bCNY|\bUSD|\bEUR)?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*"
                                 r"(?P<unit>万元|万|千|元|k\b|K\b)?", re.I)
_HOW_MANY_RE = re.compile(r"多少台|几台|多少套|几套|多少个|几个|多少支|多少路|数量|\bhow many\b|\bwhat (?:quantity|volume)\b", re.I)
_BUDGET_QUESTION_RE = re.compile(r"预算|经费|\bbudget\b", re.I)
_HEDGE = r"(?:大概|大约|差不多|先按|估计|about|around|roughly|maybe|probably)?\s*"
_LEADING_COUNT_RE = re.compile(rf"^\s*{_HEDGE}(?:(?P<count>\d{{1,5}})|(?P<words>{_NUMBER_WORDS}))\b(?!\s*(?:万|千|元|块|k\b|%|[.,]\d))",
                               re.I)
_LEADING_AMOUNT_RE = re.compile(rf"^\s*{_HEDGE}(?P<currency>[¥￥$€]|RMB|CNY|USD|EUR)?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*"
                                r"(?P<unit>万元|万|千|元|k\b|K\b)?", re.I)


def _answer_to(turns: list[Turn], question: re.Pattern[str]) -> list[tuple[Turn, Turn]]:
    """(rep question, customer reply) pairs where the rep asked `question` and the buyer answered next."""
    return [(previous, turn) for previous, turn in zip(turns, turns[1:], strict=False)
            if previous.side == "rep" and turn.side == "customer" and question.search(previous.text)
            and _ASKS_BACK_RE.search(previous.text)]


def _answered_quantity(turns: list[Turn]) -> tuple[int, Turn] | None:
    for _question, reply in _answer_to(turns, _HOW_MANY_RE):
        if (count := _LEADING_COUNT_RE.match(reply.text)) and _count(count) > 1:
            return _count(count), reply
    return None


def _answered_budget(turns: list[Turn]) -> tuple[float, Turn] | None:
    """The budget a buyer gives when asked, or an amount they say was approved."""
    for turn in turns:
        approved = _APPROVED_AMOUNT_RE.search(turn.text) if turn.side == "customer" else None
        if approved and (approved["unit"] or approved["currency"]):
            return _amount(approved), turn
    for _question, reply in _answer_to(turns, _BUDGET_QUESTION_RE):
        amount = _LEADING_AMOUNT_RE.match(reply.text)
        if amount and (amount["unit"] or amount["currency"]):
            return _amount(amount), reply
    return None


def _count(match: re.Match[str]) -> int:
    """The count a quantity match states, in digits or in English words ("twenty-five" = 25)."""
    if match["count"]:
        return int(match["count"])
    value = 0
    for word in re.split(r"[\s-]+", match["words"].lower()):
        value += _NUMBER_WORD_VALUES[word]
    return value


# "Mr. Liang chairs the committee that decides": the chair, not the committee.
_DECISION_CHAIR_RE = re.compile(r"\b(?P<who>(?:Dr|Mr|Ms|Mrs|Prof)\.? [A-Z][a-z]+|[A-Z][a-z]+ [A-Z][a-z]+) (?:chairs|heads|leads|runs) "
                                r"the (?:\w+ )?(?:committee|board|panel)\b")


def _decision_maker(turn: Turn) -> str | None:
    """Who decides, as the turn names them; a customer saying "I decide" names themself."""
    if chair := _DECISION_CHAIR_RE.search(turn.text):
        return chair["who"]
    sits_with = _DECISION_SITS_WITH_RE.search(turn.text)
    if sits_with:
        return sits_with["name"] or sits_with["role"]
    maker = _DECISION_MAKER_RE.search(turn.text)
    if maker:
        who = (maker["who"] or maker["who2"] or maker["who3"]).strip()
        named = _NAMED_PERSON_RE.search(who) if maker["who3"] else None
        # "Dr. Alan Fisher, our medical director, who makes the final call": the name before the role.
        named = named or (_APPOSITIVE_NAME_RE.search(turn.text[:maker.start()]) if maker["who3"] else None)
        if named:
            return named[1] if named.re is _APPOSITIVE_NAME_RE else named[0]
        # "这块是赵总", "采购这边由刘副院长": the words before 是/由 are not the person.
        who = re.split(r"[由是让请等给归得报找]", who)[-1] if not maker["who3"] else who
        # "这事我们厂长": the title after the possessive, not the words before it.
        who = re.split(r"我们|咱们|我方|你们|贵方", who)[-1] or who if not maker["who3"] else who
        return _LEADING_FILLER_RE.sub("", who) or who
    if turn.side == "customer" and _SELF_DECIDES_RE.search(turn.text):
        return re.sub(r"[（(\[【].*?[)）\]】]", "", turn.speaker).strip() or None
    return None


def build_card(conversation: Conversation, customer_hint: str | None = None) -> CoachCard:
    """The card with one evidence entry per filled field (first line that supports it)."""
    card = CoachCard()
    evidence: list[Evidence] = []

    def cite(field: str, turn: Turn) -> None:
        if not any(item.field == field and item.line == turn.line for item in evidence):
            evidence.append(Evidence(field=field, line=turn.line, text=turn.text))

    quantity_pattern = _quantity_re()
    price_given = False  # the rep has named a price by this turn
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
        for name, end in _competitor_names(text):
            if name not in card.competitors:
                card.competitors.append(name)
                cite("competitors", turn)
            price = _competitor_price(text, end)
            if price and not any(item.competitor == name for item in card.competitor_prices):
                card.competitor_prices.append(CompetitorPrice(competitor=name, amount=_amount(price),
                                                              currency=_currency(price[0]), line=turn.line))
                cite("competitor_prices", turn)
        if card.timeline is None and (timeline := _TIMELINE_RE.search(text)):
            card.timeline = timeline[0].strip()
            cite("timeline", turn)
        if card.decision_maker is None and (maker := _decision_maker(turn)):
            card.decision_maker = maker
            cite("decision_maker", turn)
        if turn.side == "customer":
            for kind in objection_types(text, names_competitor=bool(_competitor_names(text)), price_given=price_given):
                card.objections.append(Objection(type=kind, line=turn.line))
                cite("objections", turn)
        elif turn.side == "rep" and _names_price(text):
            price_given = True
    if card.customer is None:
        # No registered customer anywhere: a new prospect, named as the buyer wrote it, still gets its card.
        for turn in conversation.turns:
            if turn.side == "customer" and (prospect := _prospect_name(turn.text)):
                card.customer = prospect
                cite("customer", turn)
                break
    # The buyer states the demand; a count the rep mentions (a volume tier) only when the buyer names none.
    # Two products with a count each in the same turn ("<product A> 20台、<product B> 100个") is several quantities:
    # none is the deal's.
    for turn in sorted(conversation.turns, key=lambda item: item.side != "customer"):
        matches = _order_counts(quantity_pattern, turn.text)
        if matches:
            quantity = matches[0]
            counts = {_count(match) for match in matches}
            if len(counts) > 1 and len(_products(turn.text)) > 1:
                break
            card.quantity = _count(quantity)
            cite("quantity", turn)
            break
    if card.quantity is None and (answered := _answered_quantity(conversation.turns)):
        card.quantity, answer_turn = answered
        cite("quantity", answer_turn)
    # The buyer states the budget; a rep's sentence about budgets ("phase it over two budgets, year one is 48…") only
    # when the buyer states none.
    for turn in sorted(conversation.turns, key=lambda item: item.side != "customer"):
        # A "budget" under 1,000 is a count caught next to the word ("two budgets, year one is 48 sensors").
        if (budget := find_budget(turn.text)) is not None and budget >= 1000:
            card.budget = float(budget)
            cite("budget", turn)
            break
    if card.budget is None and (answered_budget := _answered_budget(conversation.turns)):
        card.budget, answer_turn = answered_budget
        cite("budget", answer_turn)
    for push in _price_pushes(conversation.turns):
        if not any(item.type == "price" and item.line == push.line for item in card.objections):
            card.objections.append(Objection(type="price", line=push.line))
            cite("objections", push)
    card.objections.sort(key=lambda item: item.line)
    card.stage = find_stage(" \n".join(turn.text for turn in conversation.turns))
    card.evidence = evidence
    return card
