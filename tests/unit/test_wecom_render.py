"""Markdown rendering of agent results for WeCom: sources, pending actions with commands, tables, size limits."""

from __future__ import annotations

from agent.decisions import parse_decision_command
from agent.models import Citation, DataTable, TurnResult
from connectors.wecom.render import (
    MARKDOWN_MAX_BYTES,
    describe_action,
    detect_language,
    render_turn_result,
    split_markdown_for_wecom,
)
from tests.action_views import action_view


def test_answer_with_citations_lists_each_source_with_section_and_quote() -> None:
    result = TurnResult(
        answer="质保期为三年。",
        language="zh",
        citations=[
            Citation(source="huadong_contract.docx", section="第5条 质保", quote="设备质保期为 三年。"),
            Citation(source="faq.md", section="", quote=""),
        ],
    )
    reply = render_turn_result(result)
    assert len(reply.markdown_chunks) == 1
    text = reply.markdown_chunks[0]
    assert text.startswith("质保期为三年。")
    assert "**来源**" in text
    assert "1. huadong_contract.docx · 第5条 质保\n> 设备质保期为 三年。" in text
    assert "2. faq.md" in text
    assert reply.image_paths == [] and reply.action_cards == []


def test_citations_of_one_section_are_listed_once_without_repeating_quoted_text() -> None:
    answer = "根据合同第七条：「7.2 设备质保期为24个月，自《设备验收报告》签署之日起计算。」"
    citations = [
        Citation(source="contract_huadong_x3_2025.md", section="第七条 质量保证", quote="7.2 设备质保期为24个月，自《设备验收报告》签署之日起计算。"),
        Citation(source="contract_huadong_x3_2025.md", section="第七条 质量保证", quote="7.4 易耗附件的质保期为6个月。"),
        Citation(source="faq.csv", section="Q3", quote="质保从验收开始。"),
    ]
    text = render_turn_result(TurnResult(answer=answer, language="zh", citations=citations)).markdown_chunks[0]
    sources = text.split("**来源**\n", 1)[1]
    assert sources == ("1. contract_huadong_x3_2025.md · 第七条 质量保证\n> 7.4 易耗附件的质保期为6个月。\n"
                       "2. faq.csv · Q3\n> 质保从验收开始。")


def test_pending_actions_show_commands_that_the_parser_accepts() -> None:
    action = action_view(id="A7K2Q", summary="为华东人民医院创建回访任务（下周三）", summary_zh="为华东人民医院创建回访任务（下周三）")
    for language, verb_of in (("zh", {"approve": "确认", "reject": "取消"}), ("en", {"approve": "approve", "reject": "reject"})):
        reply = render_turn_result(TurnResult(answer="ok", language=language, pending_actions=[action]))
        text = reply.markdown_chunks[0]
        assert "`A7K2Q` 为华东人民医院创建回访任务（下周三）" in text
        for decision, verb in verb_of.items():
            assert f"{verb} A7K2Q" in text
            command = parse_decision_command(f"{verb} A7K2Q")
            assert command is not None and command.decision == decision
        assert [card.action_id for card in reply.action_cards] == ["A7K2Q"]


def test_pending_action_from_the_gate_shows_its_chinese_summary_and_approver() -> None:
    view = action_view(id="Q3M8D", kind="submit_quote_for_approval", summary="Quote 20 × X200 to Northwind",
                       summary_zh="提交北风制造报价审批", required_approver="manager", proposer_role="manager")
    chinese = render_turn_result(TurnResult(answer="好的", language="zh", pending_actions=[view])).markdown_chunks[0]
    english = render_turn_result(TurnResult(answer="OK", language="en", pending_actions=[view])).markdown_chunks[0]
    assert "`Q3M8D` 提交北风制造报价审批（需销售经理审批）" in chinese
    assert "`Q3M8D` Quote 20 × X200 to Northwind (needs manager approval)" in english


def test_proposal_awaiting_a_manager_tells_the_rep_to_wait_or_withdraw_and_has_no_buttons() -> None:
    view = action_view(id="Q3M8D", summary_zh="提交北风制造报价审批", required_approver="manager", proposer_role="rep")
    reply = render_turn_result(TurnResult(answer="已提交", language="zh", pending_actions=[view]))
    text = reply.markdown_chunks[0]
    assert "「取消 Q3M8D」可撤回" in text and "确认 Q3M8D" not in text
    assert reply.action_cards == []
    as_manager = render_turn_result(TurnResult(answer="ok", language="zh",
                                               pending_actions=[view.model_copy(update={"proposer_role": "manager"})]))
    assert "确认 Q3M8D" in as_manager.markdown_chunks[0] and len(as_manager.action_cards) == 1


def test_actions_the_answer_already_names_are_not_listed_twice_but_keep_their_card() -> None:
    view = action_view(id="PV62X", summary_zh="跟进华东人民医院：回访", required_approver="confirm")
    answer = "待确认 [PV62X]：跟进华东人民医院：回访\n回复「确认 PV62X」执行，或「取消 PV62X」。"
    reply = render_turn_result(TurnResult(answer=answer, language="zh", pending_actions=[view]))
    assert reply.markdown_chunks == [answer]
    assert [card.action_id for card in reply.action_cards] == ["PV62X"]
    done = render_turn_result(TurnResult(answer="已执行 [PV62X]：回访", language="zh", executed_actions=[view]))
    assert done.markdown_chunks == ["已执行 [PV62X]：回访"]


def test_repeated_approval_is_marked_as_already_decided() -> None:
    view = action_view(id="A7K2Q", status="executed", summary="Follow-up", summary_zh="回访", already_decided=True)
    text = render_turn_result(TurnResult(answer="已处理", language="zh", executed_actions=[view])).markdown_chunks[0]
    assert "- 回访（此前已处理，未重复执行）" in text


def test_actions_are_described_from_the_views_attributes_in_the_readers_language() -> None:
    view = action_view(summary="Follow up with the customer", summary_zh="跟进客户")
    assert (describe_action(view, "zh"), describe_action(view, "en")) == ("跟进客户", "Follow up with the customer")


def test_table_is_rendered_as_markdown_rows_with_the_sql_and_capped() -> None:
    rows = [[f"客户{number}", number * 10] for number in range(20)]
    result = TurnResult(answer="Top customers", language="en", route="data",
                        table=DataTable(sql="SELECT name, revenue\nFROM customers", columns=["name", "revenue"], rows=rows))
    text = "\n".join(render_turn_result(result).markdown_chunks)
    assert "| name | revenue |" in text
    assert "| 客户0 | 0 |" in text and "| 客户14 | 140 |" in text
    assert "客户15" not in text
    assert "5 more rows not shown" in text
    assert "`SELECT name, revenue FROM customers`" in text


def test_chart_is_announced_and_passed_on_as_an_image() -> None:
    reply = render_turn_result(TurnResult(answer="趋势如下", language="zh", chart="/tmp/chart.png"))
    assert reply.image_paths == ["/tmp/chart.png"]
    assert "图表" in reply.markdown_chunks[0]


def test_long_answers_are_split_within_wecoms_byte_limit_without_losing_text() -> None:
    lines = [f"第{number}行：华东人民医院的回访记录与报价说明。" for number in range(300)]
    chunks = split_markdown_for_wecom("\n".join(lines))
    assert len(chunks) > 1
    assert all(len(chunk.encode("utf-8")) <= MARKDOWN_MAX_BYTES for chunk in chunks)
    joined = "\n".join(chunks)
    assert all(line in joined for line in lines)
    assert chunks[0].endswith(f"(1/{len(chunks)})")
    overlong = split_markdown_for_wecom("长" * 3000)
    assert all(len(chunk.encode("utf-8")) <= MARKDOWN_MAX_BYTES for chunk in overlong)
    assert "".join(chunk.split("\n(")[0] for chunk in overlong) == "长" * 3000


def test_language_detection() -> None:
    assert detect_language("给华东人民医院安排回访") == "zh"
    assert detect_language("What is the floor price?") == "en"
