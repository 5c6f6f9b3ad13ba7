"""Objection cues (zh + en) in a customer's turn: price, competitor, compatibility, delivery, after-sales."""

from __future__ import annotations

import re

from tools.coach.models import ObjectionType

# Systems a buyer already runs and protocols devices speak: the nouns a compatibility question is about. Generic
# industry vocabulary (hospital IT, plant automation, utilities), not any customer's or vendor's names.
_SYSTEM_NOUNS = (r"系统|平台|软件|MES|ERP|HIS|LIS|PACS|EMR|EHR|DCS|SCADA|PLC|RTU|中央站|监护站|中控|网管|后台|"
                 r"system|platform|software|historian|network")
_PROTOCOLS = (r"Modbus|OPC[ -]?UA|OPC|Profinet|PROFIBUS|EtherNet/IP|EtherCAT|DNP3|IEC[ -]?(?:104|61850|60870)|BACnet|"
              r"MQTT|Sparkplug|HL7|DICOM|FHIR|CAN ?bus|RS-?485|RS-?232|串口|规约|通信协议|通讯协议|接口协议")
# 接 as "connect", not 接受 (accept), 接手, 接待, 接单 or 接到货/接货 (receive goods).
_CONNECT_ZH = r"(?:对接|接入|接进|接到(?!货)|接上|直接接(?!受)|连到|连上|联网|打通|传到|传上去|上传|读取|进(?=我们|现有|咱们))"

_PRICE = re.compile(
    r"太贵|贵了|偏贵|偏高|贵(?:一倍|不少|很多|这么多|太多|出)|(?:价格|报价|价钱|这价|这个价|单价|总价)[^，,。？?！!]{0,4}(?:高|贵)|"
    r"(?:有点|还是|太|偏|稍微|稍)高(?!兴|效|端|性能|精度)了?|高了(?:点|些|一点)|比.{0,8}(?:预想|预期|想象|预计|估计)的?(?:要)?(?:高|贵)|"
    r"超(?:出|过)?了?(?:我们|咱们|我方)?(?:今年|本年度?|年度|这次|本期|这块|整体)?的?(?:预算|预期)|有点超|超了|"
    r"(?:差价|价差|价格|报价|这个价|价位)[^，,。；;]{0,6}(?:没法|无法|不能|难以)接受|"
    r"(?:这个|这)(?:数|价|价钱|金额|总价|钱)(?:字)?[^，,。；;]{0,2}(?:太大|太高|太多|偏大|偏高|有点大|有点多)|涨(?:了)?(?:不少|很多|这么多|太多|一截)|又涨|涨价|(?:预算|经费|资金)(?:不够|有限|紧张|吃紧|只有|就)|性价比(?:不高|不行|低|一般|太低)|"
    r"吃不消|承受不了|负担不起|让一让|再让|差得(?:有点|比较|太|很)?远|心理价位|(?:能|可以|可不可以)(?:再)?便宜|便宜(?:点|些|一点|一些)|再(?:优惠|便宜|低|少)(?:点|些|一点)?|"
    r"\b(?:too expensive|expensive|pricey|pricier|(?:that's|it's|is|a bit|pretty|rather|quite) steep|too high|(?:a bit|too|rather|pretty|quite) rich|"
    r"hoping for (?:something )?(?:closer to|lower|less|better)|closer to [$€¥￥]|hard to sell|tough sell|hard sell|over (?:our |the )?budget|budget is tight|"
    r"out of (?:our )?(?:range|budget)|hard to justify|sharpen (?:the|your) pencil|can(?:'t|not) afford|"
    r"(?:above|over|more than|higher than|beyond) (?:what )?(?:we|our) (?:budget\w*|planned|expected|assumed|"
    r"had in mind|can spend|were expecting)|(?:can|could) you do better|"
    r"(?:beyond|above|over|more than) what (?:\w+ )?(?:approved|budgeted|allowed|allocated|signed off)|"
    r"(?:steeper|higher|pricier|more) than (?:I|we)(?:'d| had| would have)? (?:hoped|expected|thought|assumed|budgeted)|"
    r"(?:more|higher|pricier|dearer) than (?:last time|last year|before|we paid|the last order)|"
    r"(?:higher|more) than (?:our|the) (?:[\w-]+ ){0,3}(?:allows|permits|covers|budget|budgeted))\b", re.I)
# "车间温度有点高", "the load is a bit high": a complaint word about something measured, not about the price.
_MEASURED_RE = re.compile(r"温度|湿度|精度|要求|频率|功耗|噪音|噪声|压力|速度|负载|延迟|\b(?:temperatures?|humidity|accuracy|"
                          r"frequency|noise|pressure|speed|load|latency|power draw|vibration)\b", re.I)
# A rival cheaper than us ("比你们低15%", "you're still above them"): a competitor citation, and a price objection
# too once our own price is on the table (it says the price given is too high).
_BELOW_RIVAL = re.compile(
    r"比(?:你们|您们|贵司)的?(?:价格?|报价)?(?:低|便宜|少)|"
    r"\b(?:(?:you're|you are|your (?:price|quote|offer|number) is)(?: still| well| way| a bit| quite a bit| a lot| significantly){0,2} "
    r"(?:above|higher than|more expensive than|pricier than|over) (?:them|theirs|their|the (?:others|competition|rest))|"
    r"cheaper than (?:you|yours|your (?:price|quote|offer))|undercut(?:s|ting)? you|"
    r"(?:your|the) (?:[\w-]+ )?(?:price|quote|offer|number) is (?:about |around |roughly |nearly |almost )?"
    r"(?:\d+(?:\.\d+)?\s?% |a (?:bit|lot) )?(?:above|higher than|over|more than))\b", re.I)
_COMPATIBILITY = re.compile(
    r"兼容|对接|集成|接口|适配|混用|共存|挂(?:在|到)[^，,。？?]{0,8}(?:中央站|监护站|系统|平台|网络|服务器)|" + _PROTOCOLS + r"|"
    r"(?:能不能|能否|可不可以|可以|能)(?:直接)?(?:接|连)(?:入|进|到|上|通|得上)?吗|连得上|"
    r"(?:数据|信号)[^，,。？?]{0,8}" + _CONNECT_ZH + r"|" + _CONNECT_ZH + r"[^，,。？?]{0,10}(?:" + _SYSTEM_NOUNS + r")|"
    r"(?:" + _SYSTEM_NOUNS + r")[^，,。？?]{0,4}(?:打通|对得上|连得上|连通)|"
    r"\b(?:compatib\w*|integrat\w*|interface|API|(?:is|are) (?:that|it|this|they) supported|does it support|"
    r"support for our|work with our|locked into|without (?:extra |additional )?(?:converters?|adapters?|middleware))\b|"
    r"\b(?:will|can|does|do|would|could) (?:it|they|this|these|the \w+|your \w+)\b[^.?!]{0,30}"
    r"\b(?:talk|speak|connect|feed|plug|hook|link|integrate|(?:send|push) data|publish)\b|"
    r"\b(?:need|want) (?:the |your |these )?\w+ to (?:publish|talk|speak|connect|feed|report|send data)\b|"
    r"\b(?:go|get|flow|feed|report|land|show up)s?\b[^.?!]{0,12}\b(?:in|into|to) (?:our|the) (?:existing |current |legacy )?"
    r"(?:[A-Za-z0-9-]+ ){0,2}(?:" + _SYSTEM_NOUNS + r"|dashboard|SCADA)\b", re.I)
_DELIVERY = re.compile(
    r"交期|交货|到货|发货|供货|交付|工期|排期|现货|备货|库存|分批|(?:送|运)到|到场|到现场|来得及|赶得上|赶不上|排得过来|人手|"
    r"产能|(?:跟|供|供应)得上|(?:能|可以)(?:发|送)(?:出|过来|到)?吗|"
    r"多久(?:能)?到|什么时候(?:能)?到|(?:能|可以|会)(?:保证)?[^，,。？?]{0,8}(?<![做得收看找听想办达])到(?:货|位|场|现场)?吗|"
    r"\b(?:delivery|deliver\w*|lead time|ship\w*\b(?!\s+(?:\w+\s+){0,2}(?:firmware|updates?|patch\w*|back\b|replacements?|spares?|loaners?))|in stock|stock|backorder\w*|staggered|batches|ETA|in time|"
    r"how (?:soon|quickly|fast)|on site by|(?:have|has|need|needs) to be (?:in|here|there|delivered|installed|on site)\b|(?:installed|delivered|in place|on site)\b[^.?!]{0,20}\b(?:before|by) then)\b|"
    r"\bif (?:they|the \w+|it|these|those) (?:aren't|isn't|are not|is not|don't|doesn't|can't|won't)\b[^.?!]{0,30}"
    r"\b(?:by|before|in time)\b", re.I)
_AFTER_SALES = re.compile(
    r"售后|维修|保修|维保|质保|响应时间|坏了|坏掉|(?:老|总|经常|又)坏|出问题|故障|(?<!送货)上门|备件|备机|配件|换新|先换后修|换电池|培训|网点|服务站|"
    r"驻场|巡检|校准|标定|耗材|(?:固件|软件|系统)升级|"
    r"\b(?:after-sales|who services|servic(?:ed|ing)|with (?:the |your )?service|(?:after|on-site|field|local) service|"
    r"service (?:agreement|contract|plan|team|engineers?|cent(?:er|re)|network|partner|visits?|response)|(?:technical|customer) support|support (?:team|contract|response|hours)|"
    r"warranty|repairs?|maintenance contract|service level|SLA|uptime|breaks(?: down)?|break down|broken|fail(?:s|ed|ure)?|"
    r"spare(?: parts)?|loaner|who (?:trains|will train)|train (?:our|the) (?:nurses|staff|team|operators|engineers|users)|support\b[^.?!]{0,20}\b(?:patchy|poor|slow|bad|weak|lacking|terrible|spotty|unreliable)\b|dies|died|goes dead|stops working|stopped working|hotline|help ?desk|"
    r"who (?:picks up|answers) the phone|who (?:do|should|can) we call|(?:about|is) (?:the )?support(?=\s*[.?!,;]|$)|(?:your|the) support\b|go(?:es)? (?:offline|down)|replacement (?:units?|parts?)|calibrat\w*|recalibrat\w*|training|on-site support|"
    r"(?:firmware|security|software) (?:updates?|upgrades?|patch\w*)|firmware(?! version)|patch(?:es|ing)?)\b", re.I)
# A competitor the speaker does not name ("别的厂家都报过了", "other vendors are cheaper"): only with a price or an
# offer next to it, so "上次别家的设备坏了" (a past supplier's failure) stays an after-sales story.
_UNNAMED_COMPETITOR_RE = re.compile(
    r"(?:(?:别的|其他|其它|另外几|好几)几?(?:厂家|厂商|品牌|供应商|公司|家)|友商|别家).{0,10}(?:报|价|便宜|优惠|送|方案)|"
    r"\b(?:other|another|competing) (?:vendors?|suppliers?|bidders?|manufacturers?|brands?|offers?)\b"
    r"[^.?!]{0,40}(?:\b(?:quoted|offered|cheaper|numbers|prices?|bids?|for (?:under|less than|below))\b|\d)|\bthe competition\b",
    re.I)

OBJECTION_CUES: tuple[tuple[ObjectionType, re.Pattern[str]], ...] = (
    ("price", _PRICE), ("compatibility", _COMPATIBILITY), ("delivery", _DELIVERY), ("after_sales", _AFTER_SALES))


# A date a delivery must make, said as a plain requirement ("12月中旬前要到货", "delivered by March"), is the timeline;
# delivery is an objection when the buyer doubts it: a question, a worry, a condition, a past slip.
_DEADLINE_CLAUSE_RE = re.compile(r"前|之前|以前|\b(?:by|before|until|no later than)\b", re.I)
_DELIVERY_DOUBT_RE = re.compile(
    r"[?？]|吗|能否|能不能|可不可以|是否|保证|担心|怕|万一|如果|要是|拖|延误|延期|晚了|来不及|"
    r"\b(?:worr\w*|concern\w*|risk\w*|if|unless|slip\w*|delay\w*|late|guarantee|can you|could you|will you)\b", re.I)
_CLAUSE_SPLIT_RE = re.compile(r"[，,。；;！!]\s*")


def _doubts_delivery(text: str) -> bool:
    """Delivery cues that are more than a deadline stated as a requirement."""
    if _DELIVERY_DOUBT_RE.search(text):
        return True
    clauses = [clause for clause in _CLAUSE_SPLIT_RE.split(text) if _DELIVERY.search(clause)]
    return not all(_DEADLINE_CLAUSE_RE.search(clause) for clause in clauses)


# A worry the buyer rules out ("交期我们不担心", "delivery isn't a concern", "we don't need training"): the clause says
# the opposite of an objection. A question ("没问题吧？") still doubts.
_NO_WORRY_RE = re.compile(
    r"不担心|不用担心|不操心|没有异议|无异议|不需要|不用(?!说)|不是问题|不成问题|不是重点|不着急|不急|"
    r"\b(?:(?:is|are|'s)?\s*(?:not|n't) (?:a |an |really a |our )?(?:concern|worry|issue|problem|priority)|not worried|"
    r"no (?:concerns?|worries)|(?:don't|do not|won't|will not) need|no need|not in a (?:rush|hurry))\b", re.I)
_CLAUSE_RE = re.compile(r"[^，,。；;！!？?]+[。；;！!？?.]?")
# A clause that asks, or turns the denial into a rhetorical question ("价格怎么不是问题"), still doubts.
_ASKS_RE = re.compile(r"[?？]|吗|吧|怎么|难道|谁说|哪能|\bhow (?:is|can)\b|\bwhat do you mean\b", re.I)
# After a ruled-out worry, the clauses that give its reason ("你们深圳有服务站") go with it, up to the sentence's end or
# a turn to what does matter ("主要是…", "but …").
_CONTRAST_RE = re.compile(r"^\s*(?:主要|关键|重点|但|不过|可是|而是|倒是|就是|只是|\b(?:but|however|what matters|the real|only)\b)", re.I)


def without_ruled_out(text: str) -> str:
    """The turn without its clauses that rule a worry out, and their reasons (a clause that asks is kept)."""
    clauses = _CLAUSE_RE.findall(text)
    kept: list[str] = []
    ruling_out = False
    for clause in clauses:
        if _NO_WORRY_RE.search(clause) and not _ASKS_RE.search(clause):
            ruling_out = not re.search(r"[。！!.；;]\s*$", clause)
            continue
        if ruling_out and not _ASKS_RE.search(clause) and not _CONTRAST_RE.search(clause):
            ruling_out = not re.search(r"[。！!.；;]\s*$", clause)
            continue
        ruling_out = False
        kept.append(clause)
    return "，".join(kept) if len(kept) != len(clauses) else text


def objection_types(text: str, names_competitor: bool, price_given: bool = False) -> list[ObjectionType]:
    """The objection types one customer turn raises; naming a competitor (or an unnamed one's offer) is one.

    price_given: the rep has already named a price, so a rival cheaper than us objects to it.
    """
    text = without_ruled_out(text)
    found: list[ObjectionType] = [kind for kind, pattern in OBJECTION_CUES if pattern.search(text)
                                  and (kind != "delivery" or _doubts_delivery(text))]
    if "price" in found and not any(_PRICE.search(clause) and not _MEASURED_RE.search(clause)
                                    for clause in _CLAUSE_RE.findall(text)):
        found.remove("price")
    if price_given and "price" not in found and _BELOW_RIVAL.search(text):
        found.insert(0, "price")
    if names_competitor or _UNNAMED_COMPETITOR_RE.search(text):
        found.append("competitor")
    return found
