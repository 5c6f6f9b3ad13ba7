"""Block Kit rendering of agent results."""

from __future__ import annotations

from agent.models import Citation, DataTable, TurnResult
from connectors.slack.models import (
    APPROVE_ACTION_ID,
    EDIT_ACTION_ID,
    FEEDBACK_DOWN_ACTION_ID,
    FEEDBACK_UP_ACTION_ID,
    REJECT_ACTION_ID,
    PendingBlockOrigin,
)
from connectors.slack.render import (
    SECTION_TEXT_LIMIT,
    friendly_error_text,
    mrkdwn_from_markdown,
    render_decision_status,
    render_turn_result,
    replace_pending_buttons,
    split_text,
)
from tests.action_views import action_view

ORIGIN = PendingBlockOrigin(action_id="", origin_channel="C0SALES001", origin_thread_ts="1700000000.000100")
TASK_ACTION = action_view(id="A7K2Q", kind="create_task", args={"customer": "华东人民医院", "due": "2026-11-25T10:00+08:00"},
                          summary="Follow up with Huadong People's Hospital on 2026-11-25", summary_zh="11月25日回访华东人民医院",
                          proposer="U0ZHANGWEI", proposer_role="rep", required_approver="confirm")


def blocks_of_type(blocks: list[dict], block_type: str) -> list[dict]:
    return [block for block in blocks if block["type"] == block_type]


def all_text(blocks: list[dict]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element["text"] if isinstance(element["text"], str) else element["text"]["text"])
    return "\n".join(parts)


def test_citations_go_into_a_context_block_with_source_section_and_quote() -> None:
    result = TurnResult(answer="The warranty is **24 months**.", citations=[
        Citation(source="contract_huadong.docx", section="第5条 质保", quote="质保期为二十四个月"),
        Citation(source="faq.md", section="Warranty", quote="24 months from acceptance"),
    ])
    text, blocks = render_turn_result(result, ORIGIN)
    assert text == "The warranty is **24 months**."
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "The warranty is *24 months*."}}
    context_blocks = blocks_of_type(blocks, "context")
    assert len(context_blocks) == 1
    elements = [element["text"] for element in context_blocks[0]["elements"]]
    assert "contract_huadong.docx › 第5条 质保" in elements[0] and "质保期为二十四个月" in elements[0]
    assert elements[1].startswith("[2] *faq.md › Warranty*")


def test_more_than_ten_citations_use_several_context_blocks() -> None:
    citations = [Citation(source=f"doc{number}.md", section="s", quote="q") for number in range(13)]
    _, blocks = render_turn_result(TurnResult(answer="a", citations=citations))
    assert [len(block["elements"]) for block in blocks_of_type(blocks, "context")] == [10, 3]


def test_pending_action_gets_approve_edit_reject_whose_value_is_the_action_id() -> None:
    _, blocks = render_turn_result(TurnResult(answer="I can create this task:", pending_actions=[TASK_ACTION]), ORIGIN)
    actions = blocks_of_type(blocks, "actions")
    assert len(actions) == 1
    elements = actions[0]["elements"]
    assert [element["action_id"] for element in elements] == [APPROVE_ACTION_ID, EDIT_ACTION_ID, REJECT_ACTION_ID]
    assert {element["value"] for element in elements} == {"A7K2Q"}
    assert PendingBlockOrigin.from_block_id(actions[0]["block_id"]) == ORIGIN.model_copy(update={"action_id": "A7K2Q"})
    assert "Follow up with Huadong People's Hospital" in all_text(blocks)


def test_chinese_answers_get_chinese_labels_and_summary() -> None:
    _, blocks = render_turn_result(TurnResult(answer="可以创建任务：", language="zh", pending_actions=[TASK_ACTION]), ORIGIN)
    assert "11月25日回访华东人民医院" in all_text(blocks)
    labels = [element["text"]["text"] for element in blocks_of_type(blocks, "actions")[0]["elements"]]
    assert labels == ["批准", "修改", "拒绝"]


def test_table_is_a_code_block_with_the_sql_in_context() -> None:
    table = DataTable(sql="SELECT region, SUM(amount) FROM deals GROUP BY region",
                      columns=["region", "total"], rows=[["华东", 1200000], ["华南", 800000.5], ["海外", None]])
    _, blocks = render_turn_result(TurnResult(answer="Revenue by region:", table=table, route="data"))
    code = blocks[1]["text"]["text"]
    assert code.startswith("```") and code.endswith("```")
    lines = code.strip("`").splitlines()
    assert lines[0].split(" | ") == ["region", "total"]
    assert lines[2].startswith("华东") and "1200000" in lines[2]
    assert "SELECT region, SUM(amount)" in blocks[2]["elements"][-1]["text"]


def test_long_tables_say_how_many_rows_are_hidden() -> None:
    table = DataTable(sql="SELECT 1", columns=["n"], rows=[[number] for number in range(40)])
    _, blocks = render_turn_result(TurnResult(answer="n", table=table))
    assert "15 more rows not shown" in all_text(blocks)


def test_long_answers_are_split_within_the_section_limit_without_losing_text() -> None:
    paragraphs = [f"Paragraph {number}: " + "word " * 150 for number in range(12)]
    pieces = split_text("\n\n".join(paragraphs))
    assert len(pieces) > 1 and all(len(piece) <= SECTION_TEXT_LIMIT for piece in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(" ".join(paragraphs).split())


def test_feedback_buttons_carry_the_suggestion_id() -> None:
    _, blocks = render_turn_result(TurnResult(answer="a", suggestion_id="SABC123"))
    elements = blocks_of_type(blocks, "actions")[0]["elements"]
    assert [(element["action_id"], element["value"]) for element in elements] == [
        (FEEDBACK_UP_ACTION_ID, "SABC123"), (FEEDBACK_DOWN_ACTION_ID, "SABC123")]


def test_slack_control_characters_are_escaped_and_markdown_converted() -> None:
    assert mrkdwn_from_markdown("a < b & **c** [docs](https://x.example/p)") == "a &lt; b &amp; *c* <https://x.example/p|docs>"
    assert mrkdwn_from_markdown("## Pricing\n<!channel>") == "*Pricing*\n&lt;!channel&gt;"


def test_decided_action_buttons_are_replaced_by_who_decided() -> None:
    _, blocks = render_turn_result(TurnResult(answer="x", pending_actions=[TASK_ACTION, TASK_ACTION.model_copy(update={"id": "B2"})]), ORIGIN)
    updated = replace_pending_buttons(blocks, "A7K2Q", render_decision_status("approve", "U0LIUYANG1"))
    remaining = [PendingBlockOrigin.from_block_id(block["block_id"]).action_id
                 for block in blocks_of_type(updated, "actions")]
    assert remaining == ["B2"]
    assert "✅ Approved by <@U0LIUYANG1>" in all_text(updated)
    assert len(updated) == len(blocks)


def test_friendly_error_follows_the_users_language_and_hides_details() -> None:
    assert friendly_error_text("报价是多少").startswith("抱歉")
    english = friendly_error_text("what is the price")
    assert english.startswith("Sorry") and "Traceback" not in english


def test_the_gates_approver_label_is_shown_in_the_answers_language() -> None:
    needs_manager = TASK_ACTION.model_copy(update={"required_approver": "manager", "approver_label_en": "needs manager approval",
                                                   "approver_label_zh": "需销售经理审批"})
    _, english = render_turn_result(TurnResult(answer="x", pending_actions=[needs_manager]), ORIGIN)
    _, chinese = render_turn_result(TurnResult(answer="x", language="zh", pending_actions=[needs_manager]), ORIGIN)
    assert "*needs manager approval*" in all_text(english) and "需销售经理审批" not in all_text(english)
    assert "*需销售经理审批*" in all_text(chinese)
