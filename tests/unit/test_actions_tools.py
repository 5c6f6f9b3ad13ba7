"""The write tools the agent binds: they only propose, with who/where taken from the turn's context."""

from __future__ import annotations

from sqlmodel import select

from tests.relative_dates import DUE_TOMORROW, local_day
from tools.db.tables import Task, sales_session
from tools.gate.models import ActionContext
from tools.model_tools import action_tools, create_follow_up_task, submit_quote_for_approval


def test_tool_functions_only_propose() -> None:
    context = ActionContext(user_id="zhang.wei", role="rep", thread_id="slack-T1", request_text="给华东人民医院下周三安排一次回访",
                            sources=[{"source": "chat"}])
    view = create_follow_up_task("华东人民医院", DUE_TOMORROW, "回访", context=context)
    assert view.status == "pending" and view.proposer == "zhang.wei" and view.thread_id == "slack-T1"
    assert view.sources == [{"source": "chat"}]
    with sales_session() as session:
        assert session.exec(select(Task)).all() == []
    quote = submit_quote_for_approval("北风制造", "G5", 50, "11000", context=context)
    assert quote.status == "pending" and quote.required_approver == "manager"


def test_langchain_tools_hide_the_context_from_the_model() -> None:
    context = ActionContext(user_id="emily.ross", role="rep", thread_id="wecom-9", origin="document")
    tools = {tool.name: tool for tool in action_tools(context)}
    assert set(tools) == {"create_follow_up_task", "log_opportunity_card", "update_opportunity_stage",
                          "submit_quote_for_approval"}
    schema = tools["create_follow_up_task"].args
    assert set(schema) == {"customer", "due", "description"}
    assert "confirmation" in tools["create_follow_up_task"].description
    result = tools["create_follow_up_task"].invoke({"customer": "Baltic Steel", "due": local_day(1),
                                                    "description": "renewal reminder"})
    # A renewal reminder would run automatically for a typed request, but this one came from a document.
    assert result["status"] == "pending" and result["proposer"] == "emily.ross" and result["origin"] == "document"
