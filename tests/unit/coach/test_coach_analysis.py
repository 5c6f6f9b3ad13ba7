"""Coach analysis rules on invented conversations: who is the rep, what raises price, what answers it, card fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesbot.settings import get_settings
from tests.unit.coach.turns import sided
from tools.coach import coach_text
from tools.coach.analysis import assign_sides, build_card, count_price_avoidance, rep_display_names
from tools.coach.inputs import parse_email, parse_text
from tools.coach.models import Conversation, Turn


def _sides(text: str, known_reps: set[str] | None = None) -> dict[str, str]:
    conversation = parse_text(text)
    assign_sides(conversation, None, known_reps or set())
    return {turn.speaker: turn.side for turn in conversation.turns}


def test_the_rep_is_found_by_what_a_vendor_says_when_no_name_is_known() -> None:
    # The buyer speaks first, states a need and asks the price; the vendor talks about "our" product and offers.
    text = ("老周：我们需要一批监护仪，你们多少钱一台？\n"
            "阿杰：我们的监护仪很稳定，我先给您整理一下方案。\n"
            "老周：方案可以，价格呢？\n"
            "阿杰：这个要看配置。\n")
    assert _sides(text) == {"老周": "customer", "阿杰": "rep"}


def test_the_rep_is_found_by_user_id_spelled_as_a_name() -> None:
    text = "Dana Kim: How much per unit?\nKai Lund: Let me check with the team.\n"
    assert _sides(text, {"kai.lund"}) == {"Dana Kim": "customer", "Kai Lund": "rep"}


def test_rep_display_names_come_from_the_seed_file_for_known_ids(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "company: {name_zh: 甲公司, name_en: Jia Co}\n"
        "reps:\n  - {user: kai.lund, name: 伦凯, role: rep, region: 北区}\n"
        "  - {user: mo.xi, name: 莫西, role: rep, region: 南区}\n"
        "product_mix: {default: {SKU-1: 1}}\nquantity_ranges: {SKU-1: [1, 5]}\nobjections: [a, b]\n"
        "next_steps: [c]\ndeal_count: 0\nfirst_deal_day: 2026-01-01\nlast_deal_day: 2026-02-01\nseed: 1\n",
        encoding="utf-8")
    monkeypatch.setenv("SALESBOT_SEED_FILE", str(seed))
    get_settings.cache_clear()
    assert rep_display_names({"kai.lund"}) == {"伦凯"}
    assert _sides("伦凯：您好，需要几台？\n老周：十台左右。\n", {"kai.lund"}) == {"伦凯": "rep", "老周": "customer"}


def test_a_me_label_is_the_exporting_rep() -> None:
    assert _sides("客户A：报价多少？\n我：明天发您报价单。\n") == {"客户A": "customer", "我": "rep"}


def test_pushes_and_competitor_counters_count_as_raising_price() -> None:
    turns = sided([("c", "What would the pumps cost?"), ("r", "It depends on the configuration."),
                    ("c", "I still need a number before Friday."), ("r", "Understood, let me check."),
                    ("c", "Another vendor quoted us $900 each."), ("r", "Their pump is older than ours."),
                    ("c", "Our team needs 30 units in spring."), ("r", "Great, that works.")])
    assert count_price_avoidance(turns) == [1, 3, 5]


def test_a_competitor_price_before_any_price_talk_is_background() -> None:
    turns = sided([("c", "另一家报的是每台5000元，我们在比较。"), ("r", "我们的稳定性更好。"),
                    ("c", "你们的价格是多少？"), ("r", "每台5200元，批量可以再优惠。")])
    assert count_price_avoidance(turns) == []


def test_budget_statements_and_price_acknowledgements_do_not_raise_price() -> None:
    turns = sided([("c", "我们预算大概50万。"), ("r", "明白。"), ("c", "报价收到了，贵公司效率很高。"), ("r", "谢谢。"),
                    ("c", "Thanks for the quote, the price looks fine."), ("r", "Glad to hear it.")])
    assert count_price_avoidance(turns) == []


@pytest.mark.parametrize(("reply", "answered"), [
    ("We can do 12% off at that volume.", True),
    ("可以给您一些优惠。", True),
    ("我请示一下，明天给您报价。", True),
    ("I'll send you the formal quote tomorrow.", True),
    ("报价回头再给您。", False),
    ("Uptime is 99.9% and we have 200 sites.", False),
    ("We'll get back to you on that.", False),
    ("先看看方案再说。", False),
])
def test_what_answers_a_price_question(reply: str, answered: bool) -> None:
    turns = sided([("c", "How much is it per unit?"), ("r", reply)])
    assert count_price_avoidance(turns) == ([] if answered else [1])


def test_consecutive_messages_are_one_raise_and_one_reply() -> None:
    turns = sided([("c", "在吗？"), ("c", "这个多少钱？"), ("c", "能便宜点吗？"),
                    ("r", "在的"), ("r", "单价3.2万元")])
    assert count_price_avoidance(turns) == []
    turns[-1].text = "我问一下"
    assert count_price_avoidance(turns) == [2]


def test_three_avoidances_in_a_chat_export_push_a_pricing_proposal() -> None:
    text = ("老周 2026-11-03 10:01\n清泉 X3 病人监护仪怎么卖？\n"
            "阿杰 2026-11-03 10:02\n我们的 X3 很适合您，我先给您整理方案。\n"
            "老周 2026-11-03 10:05\n价格还是要先有个数\n我们要 12 台\n"
            "阿杰 2026-11-03 10:06\n这个不好说\n"
            "老周 2026-11-03 10:09\n你们一直不说价格\n"
            "阿杰 2026-11-03 10:10\n回头再说吧\n")
    report = coach_text(text, source="chat")
    assert report.price_avoidance == 3 and report.price_avoidance_lines == [1, 3, 5]
    assert report.pricing is not None and report.card.quantity == 12
    # asked again after an unanswered ask: a price objection on each push, not on the first ask
    assert [(item.type, item.line) for item in report.card.objections] == [("price", 3), ("price", 5)]


def test_email_thread_in_chinese_runs_oldest_first_with_each_sender() -> None:
    raw = ("From: 阿杰 <a@example.com>\nTo: 老周 <z@example.com>\nSubject: Re: 询价\n"
           "Content-Type: text/plain; charset=utf-8\n\n单价要等勘查后再说。\n\n"
           "在 2026-11-02 14:00，老周 写道：\n> 请先告诉我单价。\n").encode()
    turns = parse_email(raw)
    assert [(turn.speaker, turn.text) for turn in turns] == [("老周", "请先告诉我单价。"), ("阿杰", "单价要等勘查后再说。")]
    conversation = Conversation(source="email", turns=turns)
    assign_sides(conversation, None, {"a.jie"} | {"阿杰"})
    assert count_price_avoidance(conversation.turns) == [1]


def test_card_quantity_skips_model_digits_amounts_and_rep_volume_tiers() -> None:
    turns = sided([("c", "We are comparing the Qingquan G5 gateway with one at $2,600 per gateway."),
                    ("r", "Volume tiers start from 50 units."),
                    ("c", "We need about 35 gateways in total.")])
    card = build_card(Conversation(source="transcript", turns=turns))
    assert card.quantity == 35
    assert next(item.line for item in card.evidence if item.field == "quantity") == 3


def test_card_decision_maker_named_or_self_and_timeline_in_words() -> None:
    turns = [Turn(line=1, speaker="老周（设备科）", text="这事我说了算，三月份新楼要用。", side="customer"),
             Turn(line=2, speaker="阿杰", text="好的。", side="rep")]
    card = build_card(Conversation(source="transcript", turns=turns))
    assert card.decision_maker == "老周" and card.timeline
    english = sided([("c", "Our CFO, Ana Ruiz, signs off on anything this size."), ("r", "Noted.")])
    assert build_card(Conversation(source="transcript", turns=english)).decision_maker == "Ana Ruiz"


def test_dated_and_timed_speaker_lines_and_list_lead_ins_inside_a_turn() -> None:
    text = "[2026-11-03 10:21] 老周: 多少钱？\n阿杰 [10:22]: 报价如下：\n1. 每台3万元\n另外：含安装\nDr. Lin: ok\n"
    turns = parse_text(text).turns
    assert [(turn.speaker, turn.text) for turn in turns] == [
        ("老周", "多少钱？"), ("阿杰", "报价如下： 1. 每台3万元 另外：含安装"), ("Dr. Lin", "ok")]


def test_chat_export_with_the_time_before_the_name() -> None:
    turns = parse_text("2026-11-03 10:21 老周\n多少钱\n一台\n2026-11-03 10:22:05 阿杰\n3万\n", "chat").turns
    assert [(turn.speaker, turn.text) for turn in turns] == [("老周", "多少钱 一台"), ("阿杰", "3万")]


def test_outlook_header_block_starts_the_quoted_message() -> None:
    raw = (b"From: A Jie <a@example.com>\nSubject: RE: q\nContent-Type: text/plain; charset=utf-8\n\nSee attached.\n\n"
           b"________________________________\nFrom: Dana Kim <d@example.com>\nSent: Monday\nTo: A Jie\n"
           b"Subject: q\n\nHow much?\n")
    assert [(turn.speaker, turn.text) for turn in parse_email(raw)] == [("Dana Kim", "How much?"),
                                                                       ("A Jie", "See attached.")]


def test_price_pushes_without_the_word_price_and_counts_that_are_not_money() -> None:
    turns = sided([("c", "能不能再低一点？"), ("r", "我们在全国有1万多家客户。"),
                    ("c", "Any wiggle room on that?"), ("r", "We have over 10k installs.")])
    assert count_price_avoidance(turns) == [1, 3]
