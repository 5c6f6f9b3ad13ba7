"""Price talk that is not avoidance, answers given indirectly, per-site counts, prospects and when pricing is pushed
(invented phrasings, none from the labelled set)."""

from __future__ import annotations

import pytest

from tests.unit.coach.turns import sided
from tools.coach import coach_text
from tools.coach.analysis import build_card, count_price_avoidance, price_talk
from tools.coach.models import CoachCard, Conversation
from tools.coach.objections import objection_types


def _card(lines: list[tuple[str, str]]) -> CoachCard:
    return build_card(Conversation(source="transcript", turns=sided(lines)))


@pytest.mark.parametrize("mention", [
    "价格之前已经和你们谈妥了，这次只问安装。",
    "价格方面先不急，我想知道能不能在高温车间用。",
    "报价在我们的预算范围内，问题不大。",
    "我们不在乎价格，一分钱一分货。",
    "The price you sent last week is fine, my question is about mounting.",
    "It's not about the price, it's about uptime.",
    "Every hour the line is down costs us a small fortune.",
])
def test_price_mentioned_without_raising_it_is_not_avoidance(mention: str) -> None:
    turns = sided([("c", mention), ("r", "明白 / Understood, let me explain.")])
    assert count_price_avoidance(turns) == []


def test_a_raise_next_to_a_non_raising_mention_still_counts() -> None:
    # the acknowledgement is taken out, the complaint after it is still price talk
    assert "总价" in price_talk("报价收到了。不过总价比我们想的高。")
    turns = sided([("c", "报价收到了。不过总价比我们想的高。"), ("r", "我们的质量更好。")])
    assert count_price_avoidance(turns) == [1]


@pytest.mark.parametrize("reply", [
    "Somewhere between 300 and 340 euros a unit, depending on the cable length.",
    "按这个量可以给到4600。",
    "在原价基础上可以再让3%。",
    "我们可以再降两个点。",
    "报价单上午已经发到您邮箱了。",
    "The quotation has been sent to your procurement inbox.",
    "We can match that offer for this volume.",
    "Lovely weather today! On price: 1,200 dollars each for twenty.",
])
def test_indirect_answers_answer_the_price(reply: str) -> None:
    turns = sided([("c", "What would it cost us? / 价格多少？"), ("r", reply)])
    assert count_price_avoidance(turns) == []


def test_a_question_back_is_answered_when_the_next_reply_gives_the_price() -> None:
    turns = sided([("c", "一台多少钱？"), ("r", "您这边是一期还是两期一起上？"),
                    ("c", "两期一起，一共18台。"), ("r", "18台的话每台2.4万元。")])
    assert count_price_avoidance(turns) == []
    # the same question back with no price after it is still avoidance
    turns[-1].text = "好的，我先做个方案。"
    assert count_price_avoidance(turns) == [1]


def test_a_question_back_then_another_dodge_counts_both_raises() -> None:
    turns = sided([("c", "How much per unit?"), ("r", "Which site is this for?"),
                    ("c", "The north plant. So, the price?"), ("r", "Our team will be in touch."),
                    ("c", "Fine."), ("r", "It is $800 per unit.")])
    assert count_price_avoidance(turns) == [1, 3]


def test_a_complaint_after_a_given_price_is_a_raise() -> None:
    turns = sided([("c", "多少钱？"), ("r", "每台9000元。"), ("c", "还是偏高了。"), ("r", "我们的用料更好。")])
    assert count_price_avoidance(turns) == [3]


@pytest.mark.parametrize(("text", "kind"), [
    ("这次的总价超出了我们本年度的预算。", "price"),
    ("这个差价我们实在没法接受。", "price"),
    ("I want the readings to flow into our existing historian.", "compatibility"),
    ("What worries me is support.", "after_sales"),
    ("If a unit dies at night, who do we call?", "after_sales"),
    ("你们的产能跟得上吗？", "delivery"),
])
def test_more_objection_phrasings(text: str, kind: str) -> None:
    assert kind in objection_types(text, names_competitor=False)


def test_a_deadline_stated_plainly_is_the_timeline_not_a_delivery_objection() -> None:
    assert "delivery" not in objection_types("这事我来定，下月底前要到货。", names_competitor=False)
    assert "delivery" in objection_types("下月底前能到货吗？", names_competitor=False)
    assert "delivery" in objection_types("上次到货拖了一周，这次下月底前要到。", names_competitor=False)


def test_a_rival_cheaper_than_us_is_a_price_objection_only_once_our_price_is_given() -> None:
    assert "price" not in objection_types("另一家比你们便宜不少。", names_competitor=False)
    assert "price" in objection_types("另一家比你们便宜不少。", names_competitor=False, price_given=True)
    card = _card([("c", "多少钱？"), ("r", "每台5000元。"), ("c", "You're still well above the others."),
                  ("r", "We include installation.")])
    assert [(item.type, item.line) for item in card.objections] == [("price", 3)]


@pytest.mark.parametrize(("lines", "quantity"), [
    ([("c", "我们要在18个站点部署，每站1台网关。"), ("r", "好的。"), ("c", "一共18台。")], 18),
    ([("c", "Nine kilns, one gateway each."), ("r", "OK."), ("c", "What would nine of them cost?")], 9),
    ([("c", "We are fitting sensors to the presses, about 140 of them.")], 140),
])
def test_per_site_counts_are_not_the_order_size(lines: list[tuple[str, str]], quantity: int) -> None:
    assert _card(lines).quantity == quantity


def test_month_names_with_a_preposition_are_a_timeline() -> None:
    assert _card([("c", "The outage window is in October."), ("r", "Noted.")]).timeline
    # "may" is as often the verb: not a month on its own
    assert _card([("c", "We may need more later."), ("r", "Noted.")]).timeline is None


@pytest.mark.parametrize(("text", "name"), [
    ("Hello, Ola here from Tindra Valley Water Authority, we need data loggers.", "Tindra Valley Water Authority"),
    ("您好，我是白鹭湾康复医院设备科的。", "白鹭湾康复医院"),
])
def test_a_prospect_not_in_the_registry_is_named_as_written(text: str, name: str) -> None:
    card = _card([("c", text), ("r", "Thanks / 您好")])
    assert card.customer == name and any(item.field == "customer" for item in card.evidence)


def test_no_prospect_from_a_pronoun_or_a_name_the_registry_resolves_only_loosely() -> None:
    assert _card([("c", "我们医院想了解一下。"), ("r", "好的")]).customer is None
    # close to a registered 人民医院 without being one of its names: the gate would file it under that customer
    assert _card([("c", "您好，我是青溪县人民医院设备科的。"), ("r", "您好")]).customer is None


@pytest.mark.parametrize(("lines", "field", "value"), [
    ([("c", "想了解网关。"), ("r", "您这边大概需要多少台？"), ("c", "大概 24，后面可能还加。")], "quantity", 24),
    ([("c", "We want gateways."), ("r", "How many units?"), ("c", "Fourteen, one per kiln.")], "quantity", 14),
    ([("c", "想上一批传感器。"), ("r", "预算大概多少？"), ("c", "30万，不能再多了。")], "budget", 300_000),
    ([("c", "Rival A offers 700 dollars a sensor.")], "quantity", None),
])
def test_figures_given_as_the_answer_to_a_question(lines: list[tuple[str, str]], field: str,
                                                    value: float | None) -> None:
    assert getattr(_card(lines), field) == value


def test_a_dodge_complaint_presses_for_the_price_again() -> None:
    turns = sided([("c", "最低能到多少？"), ("r", "我回去核算一下。"), ("c", "上次你们也是这么说的。"), ("r", "这个真不好说。")])
    assert count_price_avoidance(turns) == [1, 3]


def test_a_quote_request_answered_with_figures_needs_no_pricing_push() -> None:
    answered = ("Tom: We need 10 Qingquan G5 gateways. Can you send us a quote?\n"
                "Rep Alice: Sure, they are $2,900 each; I'll send the formal quote today.\n")
    report = coach_text(answered)
    assert report.quote_requested and report.pricing is None
    owed = answered.replace("they are $2,900 each; ", "")
    assert coach_text(owed).pricing is not None


def test_pricing_without_a_stated_quantity_is_for_one_unit_with_a_note() -> None:
    text = ("Dana: What does the Qingquan G3 cost?\nRep Alice: Let me check.\n"
            "Dana: I still need a number.\nRep Alice: It depends.\n"
            "Dana: Any figure at all?\nRep Alice: We will get back to you.\n")
    report = coach_text(text)
    assert report.price_avoidance == 3 and report.card.quantity is None
    assert report.pricing is not None and report.pricing["quantity"] == 1
    assert any("1 unit" in note for note in report.notes)


@pytest.mark.parametrize("text", [
    "大概的数量还没定，先了解一下。",
    "We found the damage on two bearings last month.",
])
def test_everyday_words_near_price_cues_do_not_raise_price(text: str) -> None:
    assert count_price_avoidance(sided([("c", text), ("r", "明白 / I see.")])) == []


def test_asking_when_the_quote_comes_is_no_delivery_objection() -> None:
    assert "delivery" not in objection_types("你们什么时候发报价？", names_competitor=False)


def test_the_selling_company_named_by_the_buyer_is_no_prospect() -> None:
    from tools.coach.analysis import own_company_names

    chinese = next(name for name in own_company_names() if not name.isascii())
    # without the exclusion this is a prospect by its shape (…有限公司 after a clause boundary)
    assert _card([("c", "你好，这里是白鹭湾物流有限公司。"), ("r", "您好")]).customer == "白鹭湾物流有限公司"
    assert _card([("c", f"你好，{chinese}的方案我们看了。"), ("r", "您好")]).customer is None


@pytest.mark.parametrize(("lines", "field", "value"), [
    ([("c", "We plan two lines."), ("r", "Fine."), ("c", "Ms. Ortiz chairs the board that decides.")],
     "decision_maker", "Ms. Ortiz"),
    ([("c", "这批设备的预算批下来了，一共60万。"), ("r", "好的")], "budget", 600_000),
    ([("c", "Finance approved EUR 90k for the pilot."), ("r", "Noted.")], "budget", 90_000),
])
def test_chairs_and_approved_amounts(lines: list[tuple[str, str]], field: str, value: object) -> None:
    assert getattr(_card(lines), field) == value


@pytest.mark.parametrize("lines", [
    [("c", "The gateway cost?"), ("r", "Roughly 1,900 per gateway, in US dollars.")],
    [("c", "报价多少？"), ("r", "每台6000元。"), ("c", "这个价位跟我们预想的差不多。"), ("r", "好的，那我准备合同。")],
])
def test_more_answers_and_acceptances(lines: list[tuple[str, str]]) -> None:
    assert count_price_avoidance(sided(lines)) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("That's well beyond what procurement approved.", "price"),
    ("How do you handle firmware on units in remote huts?", "after_sales"),
])
def test_round_five_objection_phrasings(text: str, kind: str) -> None:
    assert kind in objection_types(text, names_competitor=False)


@pytest.mark.parametrize("text", ["雨季前要全部装好。", "明年二季度启动。"])
def test_seasons_and_quarters_are_timelines(text: str) -> None:
    assert _card([("c", text), ("r", "好的")]).timeline


def test_a_short_follow_up_after_a_dodge_presses_the_same_raise() -> None:
    turns = sided([("c", "What will the set cost?"), ("r", "Let me check."), ("c", "Roughly?"), ("r", "I'll confirm."),
                    ("c", "Fine, and the warranty?"), ("r", "Two years.")])
    assert count_price_avoidance(turns) == [1, 3]
    # the same short question with no dodge before it is no raise
    assert count_price_avoidance(sided([("c", "Roughly?"), ("r", "About ten days.")])) == []


@pytest.mark.parametrize("reply", [
    "You'll have the final figure by Monday noon.",
    "Our distributor prepares the quote; they'll send you one tomorrow.",
    "For the full lot I can take it to 7,450.",
])
def test_round_six_answers(reply: str) -> None:
    assert count_price_avoidance(sided([("c", "And the price?"), ("r", reply)])) == []


@pytest.mark.parametrize(("lines", "field", "value"), [
    ([("c", "We'd begin with 12 of the Qingquan G3 edge gateways.")], "quantity", 12),
    ([("c", "这事我们厂长定。"), ("r", "好的")], "decision_maker", "厂长"),
    ([("c", "Director Lin signs the order."), ("r", "Noted.")], "decision_maker", "Director Lin"),
])
def test_round_six_card_fields(lines: list[tuple[str, str]], field: str, value: object) -> None:
    assert getattr(_card(lines), field) == value


@pytest.mark.parametrize(("text", "kind"), [
    ("跟我们现在的护理系统能连上吗？", "compatibility"),
    ("Another supplier says they can do it for under 9,000.", "competitor"),
    ("They have to be installed before the plant restarts. Can you manage?", "delivery"),
    ("Their local support was patchy last year.", "after_sales"),
])
def test_round_six_objection_phrasings(text: str, kind: str) -> None:
    assert kind in objection_types(text, names_competitor=False)


def test_compound_price_nouns_and_price_known_already() -> None:
    turns = sided([("c", "今年的协议价有变化吗？"), ("r", "您最近忙吧？")])
    assert count_price_avoidance(turns) == [1]
    assert count_price_avoidance(sided([("c", "价格我们心里有数，主要看服务。"), ("r", "明白。")])) == []


@pytest.mark.parametrize(("text", "absent", "present"), [
    ("Shipping isn't a concern this time, we're in no hurry.", "delivery", None),
    ("We don't need training, the crew knows the kit.", "after_sales", None),
    ("交期我们不担心，主要是能不能跟我们的ERP对接。", "delivery", "compatibility"),
    ("维修我们倒不担心，你们本地有服务站。", "after_sales", None),
    ("交期不担心吧？", None, "delivery"),
])
def test_a_worry_ruled_out_is_no_objection(text: str, absent: str | None, present: str | None) -> None:
    found = objection_types(text, names_competitor=False)
    assert absent is None or absent not in found
    assert present is None or present in found


def test_ruling_out_price_is_no_raise_but_a_rhetorical_denial_is() -> None:
    assert count_price_avoidance(sided([("c", "价格方面没有异议，想问下保修。"), ("r", "保修两年。")])) == []
    assert count_price_avoidance(sided([("c", "价格可以再谈，先说技术。"), ("r", "好的。")])) == []
    assert count_price_avoidance(sided([("c", "多少钱？"), ("r", "价格不是问题。"),
                                        ("c", "价格怎么不是问题，总得有个数。"), ("r", "先看方案。")])) == [1, 3]


@pytest.mark.parametrize("lines", [
    [("c", "Can you tell me if it is under 5,000 dollars?"), ("r", "Let me check.")],
    [("c", "Is that still the going rate?"), ("r", "We have a new model.")],
    [("c", "Another maker sent us their numbers."), ("r", "Ours is better.")],
])
def test_round_seven_raises(lines: list[tuple[str, str]]) -> None:
    # the third one cites a rival only after price talk: here it opens the talk, so it needs a price on the table
    turns = sided([("c", "What is the price?"), ("r", "It is $800 a unit."), *lines])
    assert count_price_avoidance(turns) == [3]


def test_round_seven_answers_titles_and_timelines() -> None:
    assert count_price_avoidance(sided([("c", "That's more than last time."), ("r", "I can hold it at 7,800.")])) == []
    assert count_price_avoidance(sided([("c", "多少钱？"), ("r", "甲型按6500，乙型按900。")])) == []
    assert _card([("c", "这事要报吴总批，年后开工。"), ("r", "好的")]).decision_maker == "吴总"
    assert _card([("c", "王经理，我们要一批网关。"), ("r", "好的")]).decision_maker is None
    assert _card([("c", "这事要报吴总批，年后开工。"), ("r", "好的")]).timeline
    assert "after_sales" in objection_types("And who trains the operators?", names_competitor=False)
    assert "price" in objection_types("That's a bit more than we paid before.", names_competitor=False)


def test_round_eight_card_fields_and_objections() -> None:
    card = _card([("c", "Ms. Ortiz, our site director, has sign-off."), ("r", "Phased over two budgets, year one is 40 units.")])
    assert card.decision_maker == "Ms. Ortiz" and card.budget is None
    assert _card([("c", "We need them in three."), ("r", "OK")]).timeline
    assert "price" in objection_types("Your quote is higher than our opex line allows.", names_competitor=False)


def test_a_complaint_about_something_measured_is_no_price_raise() -> None:
    turns = sided([("c", "多少钱？"), ("r", "每台9000元。"), ("c", "车间温度有点高，能扛住吗？"), ("r", "能到70度。")])
    assert count_price_avoidance(turns) == []
    assert "price" not in objection_types("车间温度有点高，能扛住吗？", names_competitor=False)
    assert "price" in objection_types("温度没问题，就是价格有点高。", names_competitor=False)


def test_round_nine_phrasings() -> None:
    turns = sided([("c", "多少钱？"), ("r", "一共36万。"), ("c", "领导觉得这个数太大了。"), ("r", "可以分期付款。")])
    assert count_price_avoidance(turns) == [3]
    assert "compatibility" in objection_types("能不能跟我们的调度系统打通？", names_competitor=False)
    assert "delivery" not in objection_types("If one fails, do you ship a replacement first?", names_competitor=False)
    assert count_price_avoidance(sided([("c", "Please send your price list."),
                                        ("r", "Please see the attached price list.")])) == []
    card = _card([("c", "We will need about 120 of the Qingquan G3."), ("r", "That is €990 per gateway.")])
    assert card.quantity == 120
