"""Slack streaming with a fake agent that reports progress like the knowledge route does (no servers)."""

from __future__ import annotations

from collections.abc import Callable

from agent.answer.progress import current_progress
from agent.models import Citation, TurnRequest, TurnResult
from connectors.slack.context import SlackConnectorContext
from connectors.slack.models import PendingBlockOrigin, ReplyTarget
from connectors.slack.render import friendly_error_text, render_turn_result
from connectors.slack.reply import answer_and_reply
from connectors.slack.streaming import SlackAnswerStream
from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import RecordingSlackClient, SlackApiStub

ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"
THREAD = ReplyTarget(channel="C0SALES001", user_id="U0ZHANGWEI", thread_ts="1700000000.000100")
EXTRACTIVE = TurnResult(answer="The warranty is 24 months.", language="en",
                        citations=[Citation(source="contract.md", section="5 Warranty", quote="24 months")])
FINAL = TurnResult(answer="The X3 warranty is 24 months from acceptance.", language="en", suggestion_id="S1",
                   citations=EXTRACTIVE.citations)


class StreamingAgent:
    """Tells the connector's listener the preliminary answer and the model's text, then returns `final`."""

    def __init__(self, client: RecordingSlackClient, final: TurnResult = FINAL,
                 model_texts: tuple[str, ...] = ("The X3", "The X3 warranty is", "The X3 warranty is 24 months"),
                 preliminary: TurnResult | None = EXTRACTIVE) -> None:
        self.client, self.final, self.model_texts, self.preliminary_result = client, final, model_texts, preliminary
        self.posts_seen_while_writing: list[int] = []

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        progress = current_progress()
        if progress is not None and self.preliminary_result is not None:
            progress.preliminary(self.preliminary_result)
            for text in self.model_texts:
                self.posts_seen_while_writing.append(len(self.client.calls_to("chat.postMessage")))
                progress.model_text(text)
        return self.final


def reply_with(agent_for: Callable[[RecordingSlackClient], StreamingAgent], target: ReplyTarget = THREAD,
               interval_s: float = 0.0, client: RecordingSlackClient | None = None
               ) -> tuple[RecordingSlackClient, StreamingAgent]:
    client = client or RecordingSlackClient()
    agent = agent_for(client)
    context = SlackConnectorContext(answer_turn=agent.answer_turn, roles_file=ROLES_FILE,
                                    stream_update_interval_s=interval_s)
    answer_and_reply(context, client, "warranty?", target, "slack:C0SALES001:1700000000.000100")
    return client, agent


def final_blocks(result: TurnResult) -> list[dict]:
    return render_turn_result(result, PendingBlockOrigin(action_id="", origin_channel=THREAD.channel,
                                                         origin_thread_ts=THREAD.thread_ts))[1]


def test_the_placeholder_is_posted_first_then_edited_in_place_and_replaced_by_the_final_answer() -> None:
    client, agent = reply_with(StreamingAgent)
    [placeholder] = client.calls_to("chat.postMessage")
    assert agent.posts_seen_while_writing == [1, 1, 1]  # posted before the model had written anything
    assert placeholder.params["text"] == EXTRACTIVE.answer and placeholder.params["thread_ts"] == THREAD.thread_ts
    assert "Preliminary" in str(placeholder.params["blocks"]) and "contract.md" in str(placeholder.params["blocks"])
    updates = client.calls_to("chat.update")
    assert [update.params["ts"] for update in updates] == [placeholder.response["ts"]] * 4
    assert [update.params["text"] for update in updates[:3]] == list(agent.model_texts)
    assert "The model is writing" in str(updates[0].params["blocks"])
    assert updates[-1].params["text"] == FINAL.answer and updates[-1].params["blocks"] == final_blocks(FINAL)


def test_updates_are_throttled_and_the_final_answer_always_arrives() -> None:
    client, _agent = reply_with(StreamingAgent, interval_s=3600.0)
    [placeholder] = client.calls_to("chat.postMessage")
    [final] = client.calls_to("chat.update")  # no edit within the interval, only the final replacement
    assert final.params["ts"] == placeholder.response["ts"] and final.params["text"] == FINAL.answer


def test_the_throttle_follows_its_clock() -> None:
    now = [100.0]
    client = RecordingSlackClient()
    stream = SlackAnswerStream(client, THREAD, interval_s=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    stream.preliminary(EXTRACTIVE)
    for step, text in enumerate(["a", "ab", "abc", "abcd"]):
        now[0] = 100.0 + 0.6 * (step + 1)
        stream.model_text(text)
    assert [call.params["text"] for call in client.calls_to("chat.update")] == ["ab", "abcd"]


def test_a_failing_model_ends_with_the_extractive_answer_in_place() -> None:
    extractive_final = EXTRACTIVE.model_copy(update={"suggestion_id": "S2"})
    client, _agent = reply_with(lambda c: StreamingAgent(c, final=extractive_final))
    final = client.calls_to("chat.update")[-1]
    assert final.params["text"] == EXTRACTIVE.answer and "Preliminary" not in str(final.params["blocks"])
    assert "The model is writing" not in str(final.params["blocks"])
    assert len(client.calls_to("chat.postMessage")) == 1


def test_without_progress_there_is_exactly_one_message_as_before() -> None:
    client, _agent = reply_with(lambda c: StreamingAgent(c, preliminary=None))
    [post] = client.calls_to("chat.postMessage")
    assert post.params["text"] == FINAL.answer and client.calls_to("chat.update") == []


def test_a_slash_command_reply_streams_through_its_response_url_within_slacks_five_posts() -> None:
    many_drafts = tuple("The X3 warranty is 24 months"[:n] for n in range(6, 29, 2))
    with SlackApiStub() as stub:
        target = ReplyTarget(channel="C0SALES001", user_id="U0ZHANGWEI", response_url=stub.response_url("slash-1"))
        client, _agent = reply_with(lambda c: StreamingAgent(c, model_texts=many_drafts), target=target)
        posts = stub.calls_to("response_url")
    assert client.calls == []  # nothing in the channel: only the asker sees a slash command's answer
    # The placeholder, two drafts and the final answer: one post left for a chart notice, and never over five.
    assert len(posts) == 4 and all(post.params["response_type"] == "ephemeral" for post in posts)
    assert [post.params["replace_original"] for post in posts] == [False, True, True, True]
    assert posts[0].params["text"] == EXTRACTIVE.answer and "Preliminary" in str(posts[0].params["blocks"])
    assert [post.params["text"] for post in posts[1:3]] == list(many_drafts[:2])
    assert posts[-1].params["text"] == FINAL.answer and "Preliminary" not in str(posts[-1].params["blocks"])


class AskingAgent(StreamingAgent):
    """Asks the model before any answer exists (a routing call), as the agent does where its rules are unsure."""

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        progress = current_progress()
        if progress is not None:
            progress.working("en")
            self.posts_seen_while_writing.append(len(self.client.calls_to("chat.postMessage")))
        return super().answer_turn(request)


def test_a_working_note_goes_up_while_the_model_is_asked_and_the_answer_replaces_it_in_place() -> None:
    client, agent = reply_with(AskingAgent)
    [note] = client.calls_to("chat.postMessage")
    assert agent.posts_seen_while_writing[0] == 1 and "Working on it" in str(note.params["blocks"])
    updates = client.calls_to("chat.update")
    assert {update.params["ts"] for update in updates} == {note.response["ts"]}
    assert updates[0].params["text"] == EXTRACTIVE.answer and "Preliminary" in str(updates[0].params["blocks"])
    assert updates[-1].params["text"] == FINAL.answer and updates[-1].params["blocks"] == final_blocks(FINAL)


def test_a_turn_that_fails_after_the_placeholder_replaces_it_with_the_friendly_line() -> None:
    class FailingAgent(StreamingAgent):
        def answer_turn(self, request: TurnRequest) -> TurnResult:
            super().answer_turn(request)
            raise RuntimeError("database is locked")

    client, _agent = reply_with(FailingAgent)
    [placeholder] = client.calls_to("chat.postMessage")
    final = client.calls_to("chat.update")[-1]
    assert final.params["ts"] == placeholder.response["ts"] and "Preliminary" not in str(final.params["blocks"])
    assert "locked" not in final.params["text"] and final.params["text"] == friendly_error_text("warranty?")


def test_a_failed_edit_stops_editing_and_the_answer_is_posted_anew() -> None:
    client, _agent = reply_with(StreamingAgent, client=RecordingSlackClient(fail_methods={"chat.update"}))
    # The first edit failed: no more edits; the final replacement is tried once, then posted as a new message.
    assert len(client.calls_to("chat.update")) == 2
    placeholder, final = client.calls_to("chat.postMessage")
    assert placeholder.params["text"] == EXTRACTIVE.answer and final.params["text"] == FINAL.answer
