"""WeCom cannot edit a sent message: the extractive answer goes out at once, and the model's answer follows as a
second message only when it is ready within the turn's budget, passed the checks and says something new."""

from __future__ import annotations

from agent.models import TurnResult
from connectors.common.streaming import differs_meaningfully
from connectors.wecom.models import RenderedReply
from connectors.wecom.render import render_turn_result
from connectors.wecom.sender import WeComSender

MODEL_ANSWER_LABEL = {"zh": "**更完整的回答**（模型撰写，已与来源核对）", "en": "**A fuller answer** (written by the model, "
                      "checked against the sources)"}


class WeComAnswerStream:
    """The agent's progress listener (agent.answer.progress) for one WeCom reply."""

    def __init__(self, sender: WeComSender, user_id: str) -> None:
        self.sender = sender
        self.user_id = user_id
        self.sent: TurnResult | None = None

    def preliminary(self, result: TurnResult) -> None:
        if self.sent is None:
            self.sender.deliver(self.user_id, render_turn_result(result))
            self.sent = result  # only once delivered: a failed send leaves the whole reply for the end

    def working(self, language: str) -> None:
        """Nothing is sent before there is an answer: a WeCom message cannot be taken back or edited."""

    def model_text(self, text: str) -> None:
        """The model's text is not shown while it is written (it cannot be taken back)."""

    def rest_of_reply(self, reply: RenderedReply, result: TurnResult | None) -> RenderedReply | None:
        """What is still to send once the turn is over: the whole reply when nothing went out yet; after the
        extractive answer, the model's answer only when it differs meaningfully from it; otherwise nothing."""
        if self.sent is None:
            return reply
        if result is None or result.route == "error" or result.refused:
            return None  # the person already has the extractive answer; a later failure adds nothing
        if not differs_meaningfully(self.sent.answer, result.answer):
            return None
        language = "zh" if result.language.lower().startswith("zh") else "en"
        labelled = result.model_copy(update={"answer": f"{MODEL_ANSWER_LABEL[language]}\n\n{result.answer}"})
        return render_turn_result(labelled)
