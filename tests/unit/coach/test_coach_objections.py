"""Coach objection types and the card fields around them, on invented phrasings (none from the labelled set)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.unit.coach.turns import sided
from tools.coach.analysis import build_card, count_price_avoidance
from tools.coach.inputs import parse_screenshot
from tools.coach.models import Conversation
from tools.coach.objections import objection_types
from tools.sales.opportunity import find_budget


def _card_types(lines: list[tuple[str, str]]) -> set[str]:
    card = build_card(Conversation(source="transcript", turns=sided(lines)))
    return {objection.type for objection in card.objections}


@pytest.mark.parametrize(("text", "kind"), [
    ("报价偏高，我们经费紧张。", "price"),
    ("这个价位我们真吃不消。", "price"),
    ("比我们估计的贵了一截。", "price"),
    ("That's more than we budgeted for this year.", "price"),
    ("Honestly the number is steep for a pilot.", "price"),
    ("我们的老PLC走Profibus，能接吗？", "compatibility"),
    ("采集的数据能不能直接上传到我们的SCADA？", "compatibility"),
    ("Can the pumps push data to our EHR?", "compatibility"),
    ("Does it need extra adapters, or will it work without converters?", "compatibility"),
    ("两周内能送到工地吗？", "delivery"),
    ("How soon could you have them on site?", "delivery"),
    ("If the units aren't here by the audit, the project slips.", "delivery"),
    ("设备工期紧，你们来得及吗？", "delivery"),
    ("探头坏了谁来换？", "after_sales"),
    ("Who handles calibration after the first year?", "after_sales"),
    ("How many years of security updates do you give?", "after_sales"),
    ("What happens when one breaks down at night?", "after_sales"),
])
def test_objection_phrasings_in_both_languages(text: str, kind: str) -> None:
    assert kind in objection_types(text, names_competitor=False)


@pytest.mark.parametrize(("text", "not_kind"), [
    ("你们单价多少？", "price"),                               # a question, not a complaint
    ("这次合作我们太高兴了。", "price"),
    ("年底前要装好。", "delivery"),                            # a timeline, not a doubt about delivery
    ("We want them installed before the summer break.", "delivery"),
    ("这个价格可以做到吗？", "delivery"),
    ("价格能接受。", "compatibility"),
    ("I'll talk to our finance team.", "compatibility"),
    ("I don't want to ship broken units back overseas.", "delivery"),
    ("我们要换一批老设备。", "after_sales"),                    # replacing old kit is why they buy
])
def test_what_is_not_that_objection(text: str, not_kind: str) -> None:
    assert not_kind not in objection_types(text, names_competitor=False)


def test_a_competitor_the_customer_names_or_an_unnamed_rivals_offer_is_a_competitor_objection() -> None:
    assert "competitor" in _card_types([("c", "We run Kangtuo units on the other ward today."), ("r", "Noted.")])
    assert "competitor" in _card_types([("c", "其他厂家报得比你们低。"), ("r", "我们质量更好。")])
    assert "competitor" in _card_types([("c", "Another supplier quoted us less."), ("r", "Understood.")])
    # A past supplier's failure is an after-sales worry; a competitor only the rep names is no customer objection.
    assert _card_types([("c", "之前别家的设备老坏。"), ("r", "理解。")]) == {"after_sales"}
    assert _card_types([("c", "What makes yours different?"), ("r", "Unlike Veltrix, we include support.")]) == set()


def test_competitor_prices_without_a_currency_or_unit() -> None:
    turns = sided([("c", "北辰那款才4100，你们呢？"), ("r", "我们4300一台。"),
                    ("c", "Kangtuo charges €2,900 each."), ("r", "We can do €2,850.")])
    prices = {item.competitor: (item.amount, item.currency) for item in
              build_card(Conversation(source="transcript", turns=turns)).competitor_prices}
    assert prices == {"北辰物联": (4100.0, "CNY"), "Kangtuo Medical": (2900.0, "EUR")}
    # A model number after the name is no price.
    model_only = sided([("c", "Beichen NB-20 is what we use now."), ("r", "OK.")])
    assert build_card(Conversation(source="transcript", turns=model_only)).competitor_prices == []


def test_a_quote_request_answered_with_a_yes_and_a_time_is_not_avoided() -> None:
    assert count_price_avoidance(sided([("c", "Please send the formal quote."), ("r", "Sure, tomorrow morning.")])) == []
    assert count_price_avoidance(sided([("c", "请出个报价单。"), ("r", "好的，回头再说。")])) == [1]
    assert count_price_avoidance(sided([("c", "你们最低多少？"), ("r", "这个要问领导。")])) == [1]
    assert count_price_avoidance(sided([("c", "What would 30 units run us?"), ("r", "Depends on the setup.")])) == [1]


def test_decision_maker_named_before_the_role_and_counts_spelled_out() -> None:
    turns = sided([("c", "Nina Berg, our plant director, who makes the final call, wants forty sensors."),
                    ("r", "Great.")])
    card = build_card(Conversation(source="transcript", turns=turns))
    assert card.decision_maker == "Nina Berg" and card.quantity == 40
    several = sided([("c", "清泉 G3 要12台，清泉 S2 要80个。"), ("r", "好的。")])
    assert build_card(Conversation(source="transcript", turns=several)).quantity is None


def test_timeline_from_an_opening_or_a_month_and_day() -> None:
    for text in ("新院区下月初开业。", "The plant restarts on September 14."):
        assert build_card(Conversation(source="transcript", turns=sided([("c", text)]))).timeline


@pytest.mark.parametrize(("text", "budget"), [
    ("We've earmarked $75k for phase one.", 75_000), ("About 60k dollars to spend this year.", 60_000),
    ("科室经费30万。", 300_000), ("We have 40 sites.", None)])
def test_budget_without_the_word_budget(text: str, budget: int | None) -> None:
    assert find_budget(text) == budget


def _line(text: str, box: tuple[float, float, float, float]) -> SimpleNamespace:
    return SimpleNamespace(text=text, box=box)


def test_a_full_width_bubble_belongs_to_the_name_above_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # 750 px wide: a left name label, a long left bubble spanning the middle, a right name, a long right bubble.
    lines = [_line("客户甲", (100, 40, 230, 70)), _line("很长的一条消息占满了整个气泡宽度", (120, 85, 632, 160)),
             _line("乙", (600, 200, 650, 230)), _line("同样很长的一条回复也占满了宽度", (118, 245, 630, 320))]
    monkeypatch.setattr("knowledge.ocr.ocr_image", lambda path: SimpleNamespace(lines=lines, width=750))
    turns = parse_screenshot(Path("chat.png"))
    assert [(turn.side, turn.text) for turn in turns] == [
        ("customer", "客户甲 很长的一条消息占满了整个气泡宽度"), ("rep", "乙 同样很长的一条回复也占满了宽度")]


@pytest.mark.parametrize(("text", "kind"), [
    ("离我们的心理价位还差得远。", "price"),
    ("We were hoping for something closer to €600.", "price"),
    ("That figure is a tough sell to our board.", "price"),
    ("Will it link with the nurse call system?", "compatibility"),
    ("We need the meters to publish over MQTT.", "compatibility"),
    ("What does your support cover on weekends?", "after_sales"),
])
def test_more_objection_phrasings(text: str, kind: str) -> None:
    assert kind in objection_types(text, names_competitor=False)


def test_reference_prices_bare_unit_figures_and_who_the_decision_sits_with() -> None:
    assert count_price_avoidance(sided([("c", "给个参考价也行。"), ("r", "这个不好说。")])) == [1]
    assert count_price_avoidance(sided([("c", "你们这款多少？"), ("r", "每台5200，含安装。")])) == []
    sits_with = sided([("c", "The final sign-off sits with our COO, Ruth Lang."), ("r", "Understood.")])
    assert build_card(Conversation(source="transcript", turns=sits_with)).decision_maker == "Ruth Lang"
    titled = sided([("c", "Prof. Okafor has the last word here."), ("r", "Noted.")])
    assert build_card(Conversation(source="transcript", turns=titled)).decision_maker == "Prof. Okafor"
    zh = sided([("c", "这批设备由孙副主任审批。"), ("r", "好的。")])
    assert build_card(Conversation(source="transcript", turns=zh)).decision_maker == "孙副主任"


def test_holiday_and_ahead_of_timelines_and_budgets_in_chinese_numerals() -> None:
    for text in ("春节前要装完。", "We want it live ahead of the harvest."):
        assert build_card(Conversation(source="transcript", turns=sided([("c", text)]))).timeline
    assert build_card(Conversation(source="transcript", turns=sided([("c", "这个环节前面还有审批。")]))).timeline is None
    assert find_budget("经费大约八十万。") == 800_000
    assert find_budget("预算三十五万，要20台。") == 350_000
