"""Opportunity cards from transcripts: keyword rules with no model, schema-constrained extraction with one."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from tests.conftest import TESTDATA_DIR
from tests.fakes import ScriptedChatModel, json_reply, tool_call_reply
from tools.sales.models import OpportunityCard
from tools.sales.opportunity import card_to_action_args, extract_opportunity_card

CALL_ZH = (TESTDATA_DIR / "tasks" / "call_transcript_zh.txt").read_text(encoding="utf-8")
EMAIL_EN = (TESTDATA_DIR / "tasks" / "email_en.txt").read_text(encoding="utf-8")


def test_rules_extract_a_chinese_call_transcript() -> None:
    card = extract_opportunity_card(CALL_ZH)
    assert card.customer == "华东人民医院"
    assert card.product == "QM-X3"
    assert card.competitor == "康拓医疗"
    assert card.budget == 800_000
    assert card.stage == "negotiation"
    assert any("价格偏高" in objection for objection in card.objections)
    assert any("集成" in objection for objection in card.objections)
    assert not any(objection.startswith("下一步") for objection in card.objections)
    assert card.next_step is not None and "下周三" in card.next_step


def test_rules_extract_an_english_email() -> None:
    card = extract_opportunity_card(EMAIL_EN)
    assert card.customer == "北风制造"
    assert card.product == "QI-G5"
    assert card.competitor == "Veltrix"
    assert card.budget == 600_000
    assert card.stage == "negotiation"
    assert any("lead time" in objection for objection in card.objections)
    assert card.next_step is not None and "next Tuesday" in card.next_step


def test_a_transcript_with_nothing_known_gives_an_empty_card() -> None:
    card = extract_opportunity_card("Hi, thanks for the coffee yesterday.")
    assert card.customer is None and card.competitor is None and card.budget is None
    assert card.stage == "prospecting" and card.objections == []


def test_llm_path_uses_structured_output_and_the_prompt() -> None:
    model = ScriptedChatModel(responses=[tool_call_reply("OpportunityCard", {
        "customer": "Jiangnan Second Hospital", "stage": "proposal", "objections": ["wants 5-year warranty"],
        "competitor": "Meditron Systems", "budget": 1_200_000, "next_step": "send revised quote Friday",
    })])
    card = extract_opportunity_card(CALL_ZH, llm=model)
    # Model fields win; the customer is canonicalised; fields the model left empty come from the rules.
    assert card.customer == "江南第二医院"
    assert card.stage == "proposal"
    assert card.competitor == "Meditron Systems"
    assert card.budget == 1_200_000
    assert card.objections == ["wants 5-year warranty"]
    assert card.product == "QM-X3"
    sent = " ".join(str(message.content) for message in model.last_messages)
    assert "opportunity card" in sent and "王主任" in sent


def test_llm_json_reply_is_accepted_too() -> None:
    model = ScriptedChatModel(responses=[json_reply(OpportunityCard(customer="Northwind", stage="qualification"))])
    card = extract_opportunity_card(EMAIL_EN, llm=model)
    assert card.customer == "北风制造" and card.stage == "qualification"
    assert card.budget == 600_000  # from the rules


def test_a_broken_model_falls_back_to_rules() -> None:
    model = ScriptedChatModel(responses=[AIMessage(content="not json at all")])
    card = extract_opportunity_card(CALL_ZH, llm=model)
    assert card == extract_opportunity_card(CALL_ZH)


def test_card_becomes_log_opportunity_card_action_args() -> None:
    from tools.gate.store import propose_action

    args = card_to_action_args(extract_opportunity_card(CALL_ZH))
    view = propose_action("log_opportunity_card", args, "zhang.wei", "rep", "t-card")
    assert view.status == "pending" and view.kind == "log_opportunity_card"
    assert view.args["budget"] == "800000" and view.args["competitor"] == "康拓医疗"
