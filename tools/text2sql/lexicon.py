"""Language rules (English and Chinese) the no-LLM compiler reads questions with; nothing schema-specific."""

from __future__ import annotations

import re

from salesbot.text import ENGLISH_STOPWORDS

COUNT = re.compile(r"\bhow many\b|\bnumber of\b|\bcount of\b|\bcount\b|\bnum of\b|多少个|多少家|多少位|多少笔|多少单|多少|几个|几家|几笔|数量|个数|笔数")
SUM = re.compile(r"\btotal\b|\bsum\b|\bgross\b|\bhow much\b|总|合计|累计")
AVERAGE = re.compile(r"\baverage\b|\bavg\b|\bmean\b|平均")
MAXIMUM = re.compile(r"\bmaximum\b|\bmax\b|最大值")
MINIMUM = re.compile(r"\bminimum\b|\bmin\b|最小值")
RANK_DESC = re.compile(
    r"\btop\b|\bmost\b|\bhighest\b|\blargest\b|\bbiggest\b|\bgreatest\b|\bbest\b|\bmaximum\b|最多|最高|最大|最好|前\s*\d+|排名前"
)
RANK_ASC = re.compile(r"\bbottom\b|\bleast\b|\blowest\b|\bsmallest\b|\bfewest\b|\bworst\b|\bminimum\b|最少|最低|最小|最差|后\s*\d+")
TOP_N = re.compile(
    r"\b(?:top|bottom|first|last)\s+(\d+)\b|前\s*(\d+)|后\s*(\d+)|最[高低多少大小]的?\s*(\d+)\s*[个家位名款条笔]?"
)
# "排名" / "ranked": order groups by their measure, largest first, without cutting the list.
RANKING_ORDER = re.compile(r"排名|排行|排序|\branked\b|\branking\b|\bsorted by\b|\bordered by\b")
GROUP = re.compile(r"\bgrouped by\b|\bbroken down by\b|\bby\b|\beach\b|\bper\b|\bfor every\b|按照|按|每个|每一个|各个|各|分别")
DISTINCT = re.compile(r"\bdifferent\b|\bdistinct\b|\bunique\b|不同")
ORDER_ASC = re.compile(r"\balphabetical(?:ly)?\b|\bascending\b|\bin order\b|\bsorted\b|升序|按字母")
ORDER_DESC = re.compile(r"\bdescending\b|降序")
NEGATION = re.compile(r"\bnever\b|\bnot any\b|\bwithout(?: any)?\b|\bhave not\b|\bhaven't\b|\bno\b|从未|从来没有?|没有|未曾|没")
EXCEPT = re.compile(r"\bbut not\b|\bnot in\b|\bexcept\b|\bnot on\b|\bexcluding\b|但不|而不|不在")
BOTH = re.compile(r"\bboth\b|同时")
OR = re.compile(r"\bor\b|或者|或")
COMPARISON = re.compile(
    r"(?P<op>more than|greater than|larger than|higher than|bigger than|longer than|over|above|exceeding|at least|"
    r"fewer than|less than|lower than|smaller than|shorter than|under|below|at most|超过|大于|多于|高于|不少于|少于|小于|低于|不超过)"
    r"\s*(?P<number>\d+(?:\.\d+)?)"
)
COMPARISON_OPS = {
    "more than": ">", "greater than": ">", "larger than": ">", "higher than": ">", "bigger than": ">",
    "longer than": ">", "shorter than": "<", "over": ">", "above": ">", "exceeding": ">", "at least": ">=", "fewer than": "<", "less than": "<",
    "lower than": "<", "smaller than": "<", "under": "<", "below": "<", "at most": "<=", "超过": ">",
    "大于": ">", "多于": ">", "高于": ">", "不少于": ">=", "少于": "<", "小于": "<", "低于": "<", "不超过": "<=",
}
LIKE_PATTERNS = [
    (re.compile(r"\b(?:starts?|starting|begins?|beginning)\s+with\s+(?:the\s+(?:letter|word)\s+)?['\"]?([\w\-]+)['\"]?"), "prefix"),
    (re.compile(r"\b(?:ends?|ending)\s+with\s+(?:the\s+(?:letter|word)\s+)?['\"]?([\w\-]+)['\"]?"), "suffix"),
    (re.compile(r"\b(?:contains?|containing|includes?|including|has|have|having|with)\s+(?:the\s+)?(?:phrase|word|string|text|letters?)?\s*['\"]([^'\"]+)['\"]"), "contains"),
    (re.compile(r"\b(?:contains?|containing)\s+(?:the\s+(?:phrase|word)\s+)?([\w\-]+)"), "contains"),
    (re.compile(r"以[“\"']?(\w+?)[”\"']?开头"), "prefix"),
    (re.compile(r"包含[“\"']?(\w+?)[”\"']?(?:的|$)"), "contains"),
]
# Row-level superlatives on a table's time column (other superlatives come from the layer's ranking_words).
TIME_RANKING = [
    (re.compile(r"\bmost recent(?:ly)?\b|\blatest\b|\bnewest\b|最近|最新"), "desc"),
    (re.compile(r"\bearliest\b|\boldest\b|最早"), "asc"),
]
GRAIN = [
    (re.compile(r"\bmonthly\b|\bby month\b|\bper month\b|\beach month\b|\bmonth by month\b|每月|按月|各月|月度|每个月"), "month"),
    (re.compile(r"\bquarterly\b|\bby quarter\b|\bper quarter\b|\beach quarter\b|每季度|按季度|各季度|每个季度|季度趋势"), "quarter"),
    (re.compile(r"\byearly\b|\bannual(?:ly)?\b|\bby year\b|\bper year\b|\beach year\b|每年|按年|各年|年度"), "year"),
    (re.compile(r"\bweekly\b|\bby week\b|\bper week\b|每周|按周"), "week"),
]
RELATIVE_PERIOD = [
    (re.compile(r"\blast quarter\b|\bprevious quarter\b|上季度|上个季度|上一季度"), ("quarter", -1)),
    (re.compile(r"\bthis quarter\b|\bcurrent quarter\b|本季度|这个季度|这季度"), ("quarter", 0)),
    (re.compile(r"\blast year\b|\bprevious year\b|去年|上一年"), ("year", -1)),
    (re.compile(r"\bthis year\b|\bcurrent year\b|今年|本年"), ("year", 0)),
    (re.compile(r"\blast month\b|\bprevious month\b|上个月|上月"), ("month", -1)),
    (re.compile(r"\bthis month\b|\bcurrent month\b|本月|这个月"), ("month", 0)),
]
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年)?(?!\d)")
QUARTER_OF_YEAR = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:年)?\s*(?:q|Q|第)\s*([1-4一二三四])\s*(?:季度)?|\bq([1-4])\s+((?:19|20)\d{2})\b"
)
COMPARE_PERIODS = re.compile(r"\bvs\.?\b|\bversus\b|\bcompared (?:to|with)\b|\bagainst\b|对比|相比|比较|同比")
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "twenty": 20, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# Natural-language write requests: refused before any compilation (the guard would refuse the SQL anyway).
WRITE_REQUEST = re.compile(
    r"\b(delete|remove|drop|truncate|erase|wipe|purge|update|insert|alter|rename|modify|overwrite|"
    r"add (?:a |an )?(?:new )?(?:row|record|customer|deal|entry)|create (?:a |an )?(?:new )?(?:table|row|record)|"
    r"change\s+.+\s+to|replace\s+.+\s+with|set\s+(?:the\s+)?\w+(?:\s+of\s+.+?)?\s+to|mark\s+.+\s+as|"
    r"grant|revoke)\b|\bset\s+\w+\s*="
    r"|删除|删掉|删去|清空|清除|移除|修改|更新|改成|改为|改名|重命名|命名为|设为|设置为|标记为|插入|新增|添加|增加一条|写入|重置|覆盖|"
    r"把.+改|将.+改|建表|删表",
    re.IGNORECASE,
)
# Nouns that contain a write verb but only name a column ("更新时间" = update time); removed before the check.
WRITE_WORDS_IN_NOUNS = re.compile(
    r"更新时间|更新日期|修改时间|修改日期|最近更新|新增客户数|新增商机|last updated?|updated at|update date|"
    r"date (?:of )?(?:last )?update|new (?:customers|deals|opportunities)",
    re.IGNORECASE,
)
# SQL spliced into a question ("…'); DROP TABLE x; --", "x' UNION SELECT …"): refused, not half-answered.
INJECTION = re.compile(
    r";\s*(?:attach|detach|pragma|drop|delete|update|insert|create|alter|vacuum|replace|select|with|begin)\b"
    r"|\bunion\s+(?:all\s+)?select\b|\bload_extension\b|\bsqlite_(?:master|schema|temp_master)\b",
    re.IGNORECASE,
)
# Letters from other scripts that look Latin ("DЕLЕTЕ" with Cyrillic Е): folded before any check.
CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ӏ": "l", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z",
    "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "ο": "o", "ν": "v", "ι": "i", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u2060": "",
})
# Words of a data question that name no table, column or value: the shared English function words plus
# the question words of asking for data ("list", "count", "top", "name"), which the compiler reads elsewhere.
QUESTION_WORDS = frozenset(
    "many much list show give find every each more most less least top bottom number count total sum average "
    "name names title titles".split()
)
STOPWORDS = ENGLISH_STOPWORDS | QUESTION_WORDS

# ---------------------------------------------------------------------------------------------------------------
# Intent cues of the pipeline compiler (tools/text2sql/pipeline/intent.py): phrases per cue kind, English and
# Chinese, longest matched first. General language only: no table, column or value of any database.
INTENT_CUES: dict[str, tuple[str, ...]] = {
    "count": ("how many", "number of", "count of", "count the", "count", "num of", "the count", "多少个", "多少位",
              "多少家", "多少只", "多少条", "多少门", "多少种", "多少名", "多少部", "多少", "几个", "几位", "几家", "几只",
              "几种", "数量", "个数", "数目", "总数", "数"),
    "distinct": ("different", "distinct", "unique", "不同", "不重复"),
    "avg": ("average", "avg", "mean", "on average", "平均"),
    "sum": ("total", "sum of", "in total", "altogether", "总共", "总计", "合计", "总和", "总"),
    "max": ("maximum", "max", "最大值", "最大"),
    "min": ("minimum", "min", "最小值", "最小"),
    "desc": ("most", "highest", "largest", "biggest", "greatest", "maximum number of", "most number of", "best",
             "top", "最多", "最高", "最大", "最长"),
    "asc": ("least", "fewest", "lowest", "smallest", "minimum number of", "least number of", "shortest", "worst",
            "rarest", "最少", "最低", "最小", "最短"),
    "recent": ("most recent", "most recently", "latest", "newest", "last", "最近", "最新", "最晚", "最后"),
    "earliest": ("earliest", "first", "oldest date", "最早", "第一"),
    "oldest": ("oldest", "eldest", "年龄最大", "最老", "年纪最大"),
    "youngest": ("youngest", "年龄最小", "最年轻", "年纪最小"),
    "expensive": ("most expensive", "priciest", "costliest", "最贵"),
    "cheap": ("cheapest", "least expensive", "最便宜"),
    "group": ("for each", "for every", "each", "per", "grouped by", "group by", "broken down by", "every",
              "每个", "每一个", "每种", "每位", "每", "各个", "各", "分别"),
    "order": ("sorted by", "ordered by", "order by", "sort by", "in order of", "ranked by", "arranged by",
              "按照", "按"),
    "alphabetical": ("alphabetical order", "alphabetically", "lexicographical order", "in alphabetical",
                     "字母顺序", "按字母"),
    "descending": ("descending", "decreasing", "reverse", "reversed", "降序", "从高到低", "从大到小", "倒序"),
    "negation": ("not", "other than", "except for", "isn't", "aren't", "doesn't", "don't", "is not", "are not",
                 "不是", "不为", "不等于", "不使用", "不用", "不"),
    "anti": ("do not have any", "does not have any", "not have any", "have no", "has no", "with no", "without any",
             "without", "never", "not any", "not used by any", "not used in any", "not in any", "did not",
             "do not", "does not", "have not", "has not", "haven't", "hasn't", "didn't", "no",
             "没有任何", "没有", "从未", "从来没有", "从来没", "从没", "未被", "未", "没"),
    "star": ("all the information", "all information", "all the info", "all info", "all the details",
             "all details", "all attributes", "everything about", "全部信息", "所有信息", "全部资料", "所有资料",
             "详细信息"),
    "both": ("both", "同时", "既"),
    "either": ("either", "或者", "或"),
    "or": ("or",),
    "and": ("and", "as well as", "和", "与", "及", "以及"),
    "average_ref": ("below the average", "below average", "less than the average", "less than average",
                    "lower than the average", "lower than average", "under the average", "above the average",
                    "above average", "more than the average", "more than average", "higher than the average",
                    "higher than average", "over the average", "低于平均", "高于平均", "小于平均", "大于平均"),
}
# Chinese column words that end in a generic noun ("角色代码" role code): the head alone ("角色") names the column too.
CJK_GENERIC_SUFFIXES = ("代码", "编码", "编号", "名称", "名字", "描述", "说明", "日期", "类型", "号码", "地址", "数量",
                        "金额", "费用", "信息", "详情", "ID")
# Request words: they ask for data and never name a table or a column ("show" is not a table).
REQUEST_WORDS = frozenset(
    "show list give find display tell return get what which who whose where when how are is was were the of "
    "me all please provide describe compute calculate count each every both".split()
) | frozenset(("显示", "列出", "给出", "找出", "查询", "告诉", "哪些", "哪个", "什么", "请", "所有", "全部", "列举", "返回"))
# Comparison words before a number: operator per phrase (a phrase ending in "or more" follows the number).
COMPARISON_WORDS: dict[str, str] = {
    "more than": ">", "greater than": ">", "larger than": ">", "higher than": ">", "bigger than": ">",
    "longer than": ">", "later than": ">", "over": ">", "above": ">", "exceeding": ">", "at least": ">=",
    "no less than": ">=", "not less than": ">=", "fewer than": "<", "less than": "<", "lower than": "<",
    "smaller than": "<", "shorter than": "<", "earlier than": "<", "under": "<", "below": "<", "at most": "<=",
    "no more than": "<=", "not more than": "<=", "equal to": "=", "equals": "=", "exactly": "=",
    "after": ">", "since": ">=", "before": "<", "prior to": "<",
    "超过": ">", "大于": ">", "多于": ">", "高于": ">", "晚于": ">", "不少于": ">=", "至少": ">=", "不低于": ">=",
    "少于": "<", "小于": "<", "低于": "<", "早于": "<", "不超过": "<=", "至多": "<=", "最多": "<=", "等于": "=",
}
# Comparison words after a number ("2 or more", "5以上").
TRAILING_COMPARISON_WORDS: dict[str, str] = {
    "or more": ">=", "or greater": ">=", "or higher": ">=", "or above": ">=", "or fewer": "<=", "or less": "<=",
    "or lower": "<=", "or below": "<=", "以上": ">=", "及以上": ">=", "以下": "<=", "及以下": "<=",
}
# Words for money-like, age-like and time-like columns: superlatives such as "most expensive" pick a column
# whose name holds one of these words.
COLUMN_CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "money": ("price", "cost", "amount", "fee", "charge", "salary", "revenue", "budget", "payment", "total",
              "价格", "费用", "金额", "成本"),
    "age": ("age", "年龄"),
    "date": ("date", "time", "year", "day", "日期", "时间", "年份"),
}
# Row filters written as a word: "containing 'x'" and friends (pattern kind, English/Chinese phrase).
SUBSTRING_WORDS = re.compile(
    r"\b(?:contains?|containing|includes?|including|with|has|have|having)\s+(?:the\s+|a\s+)?"
    r"(?:substring|sub-string|string|word|letters?|text|phrase|character)\s+(?:of\s+)?['\"]?(?P<text>[^'\"\s?.,]+)"
    r"['\"]?|\b(?:contains?|containing|includes?|including|has|have|having)\s+['\"](?P<quoted>[^'\"]+)['\"]"
    r"|(?:包含|含有|带有|带|包括)(?:字母|字符|单词|词语|词|字)?[“\"'](?P<zhq>[^”\"']+)[”\"']"
    r"|包含(?P<zh>[^”\"'，。？\s]+?)(?:的|$|，|。|？)"
)
PREFIX_WORDS = re.compile(
    r"\b(?:starts?|starting|begins?|beginning)\s+with\s+(?:the\s+(?:letter|word|string)\s+)?['\"]?(?P<text>[\w\-]+)"
    r"['\"]?|以[“\"']?(?P<zh>[^”\"'\s]+?)[”\"']?开头"
)
SUFFIX_WORDS = re.compile(
    r"\b(?:ends?|ending)\s+with\s+(?:the\s+(?:letter|word|string)\s+)?['\"]?(?P<text>[\w\-]+)['\"]?"
    r"|以[“\"']?(?P<zh>[^”\"'\s]+?)[”\"']?结尾"
)
