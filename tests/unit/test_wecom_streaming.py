"""WeCom with a fake agent that reports progress: the extractive answer at once, the model's answer only when new."""

from __future__ import annotations

from agent.answer.progress import current_progress
from agent.models import Citation, TurnRequest, TurnResult
from connectors.common.streaming import differs_meaningfully
from connectors.wecom.context import WeComHandlerContext
from connectors.wecom.handle_text_message import handle_text_message
from connectors.wecom.models import WeComTextMessage
from tests.unit.test_wecom_handlers import RecordingSender

CITATIONS = [Citation(source="contract_huadong_x3_2025.md", section="第5条 质保", quote="质保期为24个月")]
EXTRACTIVE = TurnResult(answer="设备质保期为24个月。", language="zh", citations=CITATIONS)
MODEL = TurnResult(answer="X3 的质保期为验收合格之日起24个月，期内免费维修。", language="zh", citations=CITATIONS)


class StreamingAgent:
    def __init__(self, sender: RecordingSender, final: TurnResult, preliminary: TurnResult | None = EXTRACTIVE):
        self.sender, self.final, self.preliminary_result = sender, final, preliminary
        self.sent_while_writing: list[int] = []

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        progress = current_progress()
        if progress is not None and self.preliminary_result is not None:
            progress.preliminary(self.preliminary_result)
            progress.model_text("X3 的质保期为")
            self.sent_while_writing.append(len(self.sender.deliveries))
        return self.final


def answer(final: TurnResult, preliminary: TurnResult | None = EXTRACTIVE) -> tuple[RecordingSender, StreamingAgent]:
    sender = RecordingSender()
    agent = StreamingAgent(sender, final, preliminary)
    context = WeComHandlerContext(sender=sender, answer_turn=agent.answer_turn,  # type: ignore[arg-type]
                                  role_for=lambda _user: "rep", approvers_for=lambda _required: [])
    handle_text_message(WeComTextMessage(msg_id="1", from_user="zhang.wei", to_user="ww1", agent_id="1000002",
                                         content="华东人民医院的X3质保期是多久？"), context)
    return sender, agent


def test_the_extractive_answer_goes_out_at_once_and_the_models_answer_follows() -> None:
    sender, agent = answer(MODEL)
    assert agent.sent_while_writing == [1]  # sent before the model finished
    first, second = sender.texts()
    assert first.startswith(EXTRACTIVE.answer) and "contract_huadong_x3_2025.md" in first
    assert "更完整的回答" in second and MODEL.answer in second
    assert "X3 的质保期为\n" not in first + second  # the model's unfinished text is never sent


def test_nothing_more_is_sent_when_the_model_failed_and_the_turn_kept_the_extractive_answer() -> None:
    sender, _agent = answer(EXTRACTIVE.model_copy(update={"suggestion_id": "S1"}))
    assert sender.texts() == [sender.texts()[0]] and sender.texts()[0].startswith(EXTRACTIVE.answer)


def test_nothing_more_is_sent_when_the_models_answer_says_the_same() -> None:
    sender, _agent = answer(EXTRACTIVE.model_copy(update={"answer": "设备质保期为 24 个月"}))
    assert len(sender.deliveries) == 1


def test_without_progress_the_one_reply_is_sent_as_before() -> None:
    sender, _agent = answer(MODEL, preliminary=None)
    assert sender.texts() == [sender.texts()[0]] and sender.texts()[0].startswith(MODEL.answer)
    assert "更完整的回答" not in sender.texts()[0]


def test_meaningful_difference_ignores_case_spacing_and_punctuation() -> None:
    assert not differs_meaningfully("Payment: 30% in advance.", "payment 30%  in advance")
    assert not differs_meaningfully("质保期为24个月。", "质保期为 24 个月")
    assert differs_meaningfully("质保期为24个月。", "质保期为验收合格之日起24个月，期内免费维修。")
    assert not differs_meaningfully("anything", "")
