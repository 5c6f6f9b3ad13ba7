"""The Slack connector over real HTTP on 127.0.0.1: uvicorn + bolt + a stub Web API, with a fake agent."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.models import Citation, TurnRequest, TurnResult
from connectors.slack.models import (
    APPROVE_ACTION_ID,
    EDIT_ACTION_ID,
    EDIT_MODAL_CALLBACK_ID,
    EDIT_MODAL_INPUT_ACTION_ID,
    EDIT_MODAL_INPUT_BLOCK_ID,
    FEEDBACK_UP_ACTION_ID,
)
from tests.action_views import action_view
from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import (
    STUB_BOT_USER_ID,
    app_mention_event,
    block_actions_payload,
    direct_message_event,
    running_slack_app,
    slash_command_form,
)
from tools.gate.store import ActionNotAllowed

VECTORS = json.loads((TESTDATA_DIR / "slack" / "slack_signature_vectors.json").read_text(encoding="utf-8"))
ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"
REP, OTHER_REP, MANAGER = "U0ZHANGWEI", "U0LINA0001", "U0LIUYANG1"
CHANNEL = "C0SALES001"


class ScriptedAgent:
    """A fake agent.service: cites a contract, proposes a task on "remind", and applies the proposer rule."""

    def __init__(self, chart_path: Path | None = None) -> None:
        self.requests: list[TurnRequest] = []
        self.decisions: list[tuple] = []
        self.feedback: list[tuple] = []
        self.chart_path = chart_path
        self._lock = threading.Lock()

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        with self._lock:
            self.requests.append(request)
        if "remind" in request.text:
            action = action_view(id="T9PQR", kind="create_task", args={"customer": "华东人民医院", "due": "2026-11-25"},
                                 summary="Follow up with Huadong People's Hospital on 2026-11-25",
                                 proposer=request.user_id, proposer_role=request.role, required_approver="confirm")
            return TurnResult(answer="Shall I create this task?", route="task", pending_actions=[action])
        if "quote" in request.text:
            action = action_view(id="Q4M8N", kind="submit_quote", args={"product": "QM-X3", "quantity": 20},
                                 summary="Quote 20 × QM-X3 at 41,000", proposer=request.user_id,
                                 proposer_role=request.role, required_approver="manager")
            return TurnResult(answer="This price needs manager approval.", route="pricing", pending_actions=[action])
        if "chart" in request.text:
            return TurnResult(answer="Revenue by region", route="data", chart=str(self.chart_path))
        return TurnResult(answer=f"Answer to: {request.text}", suggestion_id="SANS001", citations=[
            Citation(source="contract_huadong.docx", section="第5条 质保", quote="质保期为自验收之日起二十四个月")])

    def decide_action(self, action_id: str, decision: str, user_id: str, role: str,
                      edited_args: dict[str, Any] | None = None) -> TurnResult:
        with self._lock:
            self.decisions.append((action_id, decision, user_id, role, edited_args))
        if user_id != {"Q4M8N": MANAGER}.get(action_id, REP):  # stands in for the tools layer's rule
            raise ActionNotAllowed(f"only the person who asked (or a manager) can confirm action {action_id}")
        return TurnResult(answer="Task created.", route="decision", executed_actions=[
            action_view(id=action_id, kind="create_task", status="executed",
                        summary="Follow up with Huadong People's Hospital")])

    def record_feedback(self, suggestion_id: str, adopted: bool, user_id: str) -> None:
        self.feedback.append((suggestion_id, adopted, user_id))


def agent_functions(agent: ScriptedAgent) -> dict[str, Any]:
    return {"answer_turn": agent.answer_turn, "decide_action": agent.decide_action,
            "record_feedback": agent.record_feedback}


@pytest.fixture
def agent() -> ScriptedAgent:
    return ScriptedAgent()


def test_url_verification_challenge_is_answered(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        response = slack.post(json.dumps(VECTORS["url_verification_body"]))
    assert response.status_code == 200
    assert response.json() == json.loads(VECTORS["url_verification_expected_response"])


def test_freshly_signed_official_event_is_accepted_and_needs_no_answer(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        response = slack.post(json.dumps(VECTORS["event_callback_body"]))
        slack.executor.wait_idle()
        assert response.status_code == 200
        assert slack.stub.calls_to("chat.postMessage") == []
    assert agent.requests == []


def test_tampered_body_stale_timestamp_and_unsigned_requests_get_401(agent: ScriptedAgent) -> None:
    event = app_mention_event("what is the price floor?", REP, CHANNEL, "1700000000.000100")
    body = json.dumps({"type": "event_callback", "event_id": "EvT1", "team_id": "T0STUB0001", "event": event})
    tampered = body.replace("price floor", "free upgrade")
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        statuses = {
            "tampered": slack.post(tampered, signed_body=body).status_code,
            "stale": slack.post(body, timestamp=int(time.time()) - 600).status_code,
            "wrong secret": slack.post(body, headers={"X-Slack-Signature": "v0=" + "0" * 64}).status_code,
        }
        import httpx

        statuses["unsigned"] = httpx.post(slack.events_url, content=body, timeout=10).status_code
        statuses["retry after rejections"] = slack.post(body).status_code
        slack.executor.wait_idle()
    assert statuses == {"tampered": 401, "stale": 401, "wrong secret": 401, "unsigned": 401,
                        "retry after rejections": 200}
    # The rejected deliveries did not claim the event id: the genuine one was still answered, once.
    assert [request.text for request in agent.requests] == ["what is the price floor?"]


def test_mention_gets_a_threaded_answer_with_citations(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        response = slack.post_event(app_mention_event("QM-X3 质保多久？", REP, CHANNEL, "1700000000.000100"), "EvM1")
        assert response.status_code == 200
        [post] = slack.stub.wait_for_calls("chat.postMessage", 1)
    assert agent.requests == [TurnRequest(text="QM-X3 质保多久？", user_id=REP, role="rep", channel="slack",
                                          thread_id=f"slack:{CHANNEL}:1700000000.000100")]
    assert post.token == "xoxb-stub-token"
    assert (post.params["channel"], post.params["thread_ts"]) == (CHANNEL, "1700000000.000100")
    context_texts = [element["text"] for block in post.params["blocks"] if block["type"] == "context"
                     for element in block["elements"]]
    assert any("contract_huadong.docx › 第5条 质保" in text and "二十四个月" in text for text in context_texts)


def test_reply_inside_a_thread_continues_the_same_agent_thread(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        slack.post_event(app_mention_event("first", REP, CHANNEL, "1700000000.000100"), "EvTh1")
        slack.post_event(app_mention_event("and the second?", REP, CHANNEL, "1700000000.000900",
                                           thread_ts="1700000000.000100"), "EvTh2")
        posts = slack.stub.wait_for_calls("chat.postMessage", 2)
    assert {request.thread_id for request in agent.requests} == {f"slack:{CHANNEL}:1700000000.000100"}
    assert {post.params["thread_ts"] for post in posts} == {"1700000000.000100"}


def test_redelivered_event_is_answered_once_even_across_a_restart(agent: ScriptedAgent) -> None:
    event = app_mention_event("price of QM-X3?", REP, CHANNEL, "1700000000.000100")
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        first = slack.post_event(event, "EvR1")
        retries = [slack.post_event(event, "EvR1", headers={"X-Slack-Retry-Num": str(number),
                                                            "X-Slack-Retry-Reason": "http_timeout"})
                   for number in (1, 2)]
        slack.executor.wait_idle()
        posts_before_restart = len(slack.stub.calls_to("chat.postMessage"))
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as restarted:
        late_retry = restarted.post_event(event, "EvR1", headers={"X-Slack-Retry-Num": "3"})
        restarted.executor.wait_idle()
        posts_after_restart = len(restarted.stub.calls_to("chat.postMessage"))
    assert [response.status_code for response in (first, *retries, late_retry)] == [200, 200, 200, 200]
    assert (posts_before_restart, posts_after_restart, len(agent.requests)) == (1, 0, 1)


def test_direct_message_is_answered_in_the_dm_and_channel_chatter_is_ignored(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        slack.post_event(direct_message_event("discount policy?", MANAGER, "D0LIUYANG1", "1700000000.000300"), "EvD1")
        channel_message = {**direct_message_event("lunch?", REP, CHANNEL, "1700000000.000400"), "channel_type": "channel"}
        slack.post_event(channel_message, "EvD2")
        own_message = {**direct_message_event("Answer to: x", STUB_BOT_USER_ID, "D0LIUYANG1", "1700000000.000500"),
                       "bot_id": "B0SALESBOT"}
        slack.post_event(own_message, "EvD3")
        slack.executor.wait_idle()
        posts = slack.stub.calls_to("chat.postMessage")
    assert [(request.text, request.role, request.thread_id) for request in agent.requests] == [
        ("discount policy?", "manager", "slack:D0LIUYANG1")]
    assert [(post.params["channel"], post.params.get("thread_ts")) for post in posts] == [("D0LIUYANG1", None)]


def test_slash_command_acks_at_once_and_answers_through_response_url(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        response_url = slack.stub.response_url("slash-1")
        ack = slack.post(slash_command_form("warranty of QM-X3?", REP, CHANNEL, response_url),
                         content_type="application/x-www-form-urlencoded")
        [answer] = slack.stub.wait_for_calls("response_url", 1)
    assert ack.status_code == 200 and "Working on it" in ack.text
    assert answer.params["name"] == "slash-1" and answer.params["response_type"] == "ephemeral"
    assert answer.params["text"] == "Answer to: warranty of QM-X3?"
    assert agent.requests[0].thread_id == f"slack:{CHANNEL}:slash:{REP}"


def _proposal_message(slack: Any, agent: ScriptedAgent) -> dict[str, Any]:
    """Ask for a reminder and return the posted proposal as Slack would send it back in a button payload."""
    slack.post_event(app_mention_event("remind me to call 华东人民医院 on Wednesday", REP, CHANNEL,
                                       "1700000000.000100"), "EvP1")
    [post] = slack.stub.wait_for_calls("chat.postMessage", 1)
    return {"ts": post.response["ts"], "thread_ts": post.params["thread_ts"], "text": post.params["text"],
            "blocks": post.params["blocks"]}


def _press(slack: Any, message: dict[str, Any], action_id: str, user: str) -> Any:
    [button] = [element for block in message["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["action_id"] == action_id]
    [block_id] = [block["block_id"] for block in message["blocks"] if block["type"] == "actions"
                  and button in block["elements"]]
    payload = block_actions_payload(action_id, button["value"], block_id, user, CHANNEL, message,
                                    response_url=slack.stub.response_url(f"press-{user}"))
    return slack.post_interaction(payload)


def test_non_proposer_gets_an_ephemeral_refusal_and_the_proposer_can_approve(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        message = _proposal_message(slack, agent)
        assert _press(slack, message, APPROVE_ACTION_ID, OTHER_REP).status_code == 200
        [refusal] = slack.stub.wait_for_calls("chat.postEphemeral", 1)
        slack.executor.wait_idle()
        assert slack.stub.calls_to("chat.update") == []
        assert _press(slack, message, APPROVE_ACTION_ID, REP).status_code == 200
        [update] = slack.stub.wait_for_calls("chat.update", 1)
        posts = slack.stub.wait_for_calls("chat.postMessage", 2)
    assert (refusal.params["user"], refusal.params["channel"]) == (OTHER_REP, CHANNEL)
    assert refusal.params["text"] == "only the person who asked (or a manager) can confirm action T9PQR"
    assert [decision[:3] for decision in agent.decisions] == [("T9PQR", "approve", OTHER_REP), ("T9PQR", "approve", REP)]
    assert update.params["ts"] == posts[0].response["ts"]
    assert "Approved by <@U0ZHANGWEI>" in json.dumps(update.params["blocks"])
    assert not [block for block in update.params["blocks"] if block["type"] == "actions"]
    assert posts[1].params["thread_ts"] == "1700000000.000100" and "Task created." in posts[1].params["text"]


def test_manager_approval_goes_to_the_managers_dm_and_deciding_there_updates_both_messages(
    agent: ScriptedAgent,
) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        slack.post_event(app_mention_event("quote 20 QM-X3 for 华东人民医院 at 41000", REP, CHANNEL,
                                           "1700000000.000100"), "EvQ1")
        thread_post, dm_post = slack.stub.wait_for_calls("chat.postMessage", 2)
        [opened] = slack.stub.calls_to("conversations.open")
        dm_message = {"ts": dm_post.response["ts"], "text": dm_post.params["text"], "blocks": dm_post.params["blocks"]}
        [block_id] = [block["block_id"] for block in dm_post.params["blocks"] if block["type"] == "actions"]
        slack.post_interaction(block_actions_payload(APPROVE_ACTION_ID, "Q4M8N", block_id, MANAGER,
                                                     dm_post.params["channel"], dm_message))
        updates = slack.stub.wait_for_calls("chat.update", 2)
        slack.executor.wait_idle()
        posts = slack.stub.calls_to("chat.postMessage")
    assert opened.params["users"] == MANAGER and dm_post.params["channel"] == "D0LIUYANG1"
    assert f"<@{REP}>" in dm_post.params["text"] and "Quote 20 × QM-X3" in dm_post.params["text"]
    assert agent.decisions == [("Q4M8N", "approve", MANAGER, "manager", None)]
    assert {(update.params["channel"], update.params["ts"]) for update in updates} == {
        (CHANNEL, thread_post.response["ts"]), ("D0LIUYANG1", dm_post.response["ts"])}
    # The outcome is posted in the DM and, for the rep, in the original thread.
    assert {(post.params["channel"], post.params.get("thread_ts")) for post in posts[2:]} == {
        ("D0LIUYANG1", dm_post.response["ts"]), (CHANNEL, "1700000000.000100")}


def test_edit_opens_a_modal_with_the_arguments_and_submits_edited_json(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        message = _proposal_message(slack, agent)
        _press(slack, message, EDIT_ACTION_ID, REP)
        [opened] = slack.stub.wait_for_calls("views.open", 1)
        view = opened.params["view"]
        initial = json.loads(view["blocks"][1]["element"]["initial_value"])
        assert initial == {"customer": "华东人民医院", "due": "2026-11-25"}

        def submit(text: str) -> Any:
            submitted_view = {**view, "id": "V1", "state": {"values": {
                EDIT_MODAL_INPUT_BLOCK_ID: {EDIT_MODAL_INPUT_ACTION_ID: {"type": "plain_text_input", "value": text}}}}}
            return slack.post_interaction({"type": "view_submission", "team": {"id": "T0STUB0001"},
                                           "user": {"id": REP}, "view": submitted_view, "api_app_id": "A0SALESBOT"})

        invalid = submit("{due: tomorrow")
        valid = submit(json.dumps({**initial, "due": "2026-11-27"}, ensure_ascii=False))
        slack.executor.wait_idle()
        updates = slack.stub.calls_to("chat.update")
    assert view["callback_id"] == EDIT_MODAL_CALLBACK_ID
    assert invalid.status_code == 200 and invalid.json()["response_action"] == "errors"
    assert "Not valid JSON" in invalid.json()["errors"][EDIT_MODAL_INPUT_BLOCK_ID]
    assert valid.status_code == 200 and not valid.text
    assert agent.decisions == [("T9PQR", "edit", REP, "rep", {"customer": "华东人民医院", "due": "2026-11-27"})]
    assert len(updates) == 1 and "Edited by <@U0ZHANGWEI>" in json.dumps(updates[0].params["blocks"])


def test_feedback_button_is_recorded_and_acknowledged(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        slack.post_event(app_mention_event("warranty?", REP, CHANNEL, "1700000000.000100"), "EvF1")
        [post] = slack.stub.wait_for_calls("chat.postMessage", 1)
        message = {"ts": post.response["ts"], "thread_ts": "1700000000.000100", "text": post.params["text"],
                   "blocks": post.params["blocks"]}
        _press(slack, message, FEEDBACK_UP_ACTION_ID, REP)
        [thanks] = slack.stub.wait_for_calls("chat.postEphemeral", 1)
    assert agent.feedback == [("SANS001", True, REP)]
    assert thanks.params["user"] == REP and "helpful" in thanks.params["text"]


def test_chart_is_uploaded_with_files_upload_v2(tmp_path: Path) -> None:
    chart = tmp_path / "revenue_by_region.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    agent = ScriptedAgent(chart_path=chart)
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        slack.post_event(app_mention_event("chart of revenue by region", MANAGER, CHANNEL, "1700000000.000100"), "EvC1")
        [completed] = slack.stub.wait_for_calls("files.completeUploadExternal", 1)
        [requested] = slack.stub.calls_to("files.getUploadURLExternal")
        [uploaded] = slack.stub.calls_to("file.upload")
    assert requested.params["filename"] == "revenue_by_region.png"
    assert int(requested.params["length"]) == uploaded.params["length"] == chart.stat().st_size
    assert (completed.params["channel_id"], completed.params["thread_ts"]) == (CHANNEL, "1700000000.000100")
    assert completed.params["files"][0]["id"] == uploaded.params["file_id"]


def test_agent_error_reaches_the_user_as_a_friendly_message(caplog) -> None:
    def broken_agent(request: TurnRequest) -> TurnResult:
        raise RuntimeError("index file /var/lib/chroma is corrupt")

    with running_slack_app(roles_file=ROLES_FILE, answer_turn=broken_agent) as slack:
        slack.post_event(app_mention_event("price?", REP, CHANNEL, "1700000000.000100"), "EvE1")
        [post] = slack.stub.wait_for_calls("chat.postMessage", 1)
    assert post.params["text"].startswith("Sorry") and "chroma" not in post.params["text"]
    assert "index file /var/lib/chroma is corrupt" in caplog.text


def test_unreachable_slack_api_is_a_config_error_naming_the_url() -> None:
    from connectors.slack.app import SlackConfigError, build_slack_app
    from salesbot.settings import Settings

    # Port 9 (discard) is closed on loopback: auth.test fails at once, as it would with a wrong URL.
    settings = Settings(slack_signing_secret="s", slack_bot_token="xoxb-1", slack_api_url="http://127.0.0.1:9/api/")
    with pytest.raises(SlackConfigError, match="SALESBOT_SLACK_API_URL"):
        build_slack_app(settings=settings)


def test_socket_mode_handler_is_built_against_the_configured_api() -> None:
    from connectors.slack.server import build_socket_mode_handler
    from salesbot.settings import Settings
    from tests.stubs.slack_api import SlackApiStub

    with SlackApiStub() as stub:
        settings = Settings(slack_bot_token="xoxb-stub-token", slack_app_token="xapp-1-A0-stub",
                            slack_api_url=stub.base_url)
        handler = build_socket_mode_handler(settings)
        assert handler.client.app_token == "xapp-1-A0-stub"
        assert handler.app.client.base_url == stub.base_url
        assert [call.method for call in stub.calls] == ["auth.test"]


def test_salesbot_serve_slack_command_serves_signed_events(tmp_path: Path) -> None:
    """The real CLI entry point in a subprocess: settings from SALESBOT_* variables, /slack/events answered."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    from tests.stubs.slack_api import SlackApiStub, sign_slack_request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    body = json.dumps(VECTORS["url_verification_body"])
    with SlackApiStub() as stub:
        environment = {**os.environ, "SALESBOT_HOME": str(tmp_path / "home"),
                       "SALESBOT_SLACK_SIGNING_SECRET": "cli-secret", "SALESBOT_SLACK_BOT_TOKEN": "xoxb-cli",
                       "SALESBOT_SLACK_API_URL": stub.base_url, "SALESBOT_ROLES_FILE": str(ROLES_FILE)}
        server = subprocess.Popen(
            [sys.executable, "-c", "from connectors.cli import main; main()", "serve", "slack", "--port", str(port)],
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            response = None
            for _attempt in range(300):  # wait for the port to open (bounded), not a speed check
                if server.poll() is not None:
                    break
                try:
                    response = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, timeout=5,
                                          headers={"Content-Type": "application/json",
                                                   **sign_slack_request("cli-secret", body)})
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            unsigned = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, timeout=5)
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0].decode("utf-8", "replace")
    assert response is not None, output
    assert response.status_code == 200 and response.json() == json.loads(VECTORS["url_verification_expected_response"])
    assert unsigned.status_code == 401
    assert [call.method for call in stub.calls] == ["auth.test"]
    assert "Traceback" not in output


def _raw_http_exchange(port: int, request_head: bytes, body_parts: list[bytes], timeout_s: float = 20.0) -> bytes:
    """Send a hand-made HTTP/1.1 request over a socket and return what the server answers (status line first)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        connection.sendall(request_head)
        try:
            for part in body_parts:
                connection.sendall(part)
        except OSError:
            pass  # the server may answer and close before everything was sent: that is the point
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65_536)
            if not chunk:
                break
            received += chunk
    return received


def test_unsigned_junk_gets_401_never_a_500_or_a_traceback(agent: ScriptedAgent, caplog) -> None:
    import httpx

    junk = [
        (b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"\xff\xfe\x00", "application/json"),
        (b"payload=%7Bbad", "application/x-www-form-urlencoded"), (b"", "application/json"),
        (b"[" * 50_000, "application/json"), (b"\x00" * 1000, "application/octet-stream"),
    ]
    bad_headers = [{}, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"},
                   {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=\u00e9".encode("latin-1")},
                   {"X-Slack-Request-Timestamp": "9" * 300, "X-Slack-Signature": "v0=" + "0" * 64}]
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        statuses = {httpx.post(slack.events_url, content=body, timeout=10,
                               headers={"Content-Type": content_type, **headers}).status_code
                    for body, content_type in junk for headers in bad_headers}
        signed_junk = [slack.post(body.decode("latin-1"), content_type=content_type).status_code
                       for body, content_type in junk if body.isascii()]
        slack.executor.wait_idle()
    assert statuses == {401}
    # Signed by someone with the secret, but not a Slack payload: refused (400), no crash. A form of NUL bytes is
    # a well-formed form that no listener handles, which bolt answers 404.
    assert signed_junk == [400, 400, 400, 400, 400, 404]
    assert agent.requests == [] and slack.stub.calls_to("chat.postMessage") == []
    assert "Traceback" not in caplog.text and not [record for record in caplog.records if record.levelname == "ERROR"]


def test_oversized_bodies_get_413_without_being_read_in_full(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        port = slack.server.port
        # Declares 200 MB and sends 1 KB: the answer must come from the header alone (old servers waited).
        declared = _raw_http_exchange(port, (
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n"), [b"{" + b" " * 1023])
        # No length declared (chunked): the stream is cut off once it passes the limit.
        chunk = b"x" * 65_536
        chunked = _raw_http_exchange(port, (
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"), [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 20 + [b"0\r\n\r\n"])
        still_serving = slack.post(json.dumps(VECTORS["url_verification_body"]))
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]
    assert still_serving.status_code == 200
    assert agent.requests == []


def test_replayed_signed_slash_command_is_answered_once(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        form = slash_command_form("remind me to renew 华东人民医院", REP, CHANNEL, slack.stub.response_url("slash-r"))
        signed_at = int(time.time())
        replies = [slack.post(form, content_type="application/x-www-form-urlencoded", timestamp=signed_at)
                   for _ in range(3)]  # the same signed request, captured and sent three times within seconds
        slack.executor.wait_idle()
        answers = slack.stub.calls_to("response_url")
        # The user typing the same command again is a new request (new timestamp and trigger id from Slack).
        again = slash_command_form("remind me to renew 华东人民医院", REP, CHANNEL, slack.stub.response_url("slash-2"))
        typed_again = slack.post(again.replace("12345.98765.abcd", "12345.98765.later"),
                                 content_type="application/x-www-form-urlencoded")
        slack.stub.wait_for_calls("response_url", 2)
    assert [reply.status_code for reply in replies] == [200, 200, 200]
    assert "正在处理" in replies[0].text and replies[1].text == replies[2].text == ""
    assert len(answers) == 1
    assert typed_again.status_code == 200
    assert [request.text for request in agent.requests] == ["remind me to renew 华东人民医院"] * 2


def test_replayed_signed_button_press_is_decided_once(agent: ScriptedAgent) -> None:
    with running_slack_app(roles_file=ROLES_FILE, **agent_functions(agent)) as slack:
        message = _proposal_message(slack, agent)
        [button] = [element for block in message["blocks"] if block["type"] == "actions"
                    for element in block["elements"] if element["action_id"] == APPROVE_ACTION_ID]
        [block_id] = [block["block_id"] for block in message["blocks"] if block["type"] == "actions"
                      and button in block["elements"]]
        from tests.stubs.slack_api import interactive_form

        form = interactive_form(block_actions_payload(APPROVE_ACTION_ID, button["value"], block_id, REP, CHANNEL,
                                                      message))
        signed_at = int(time.time())
        replies = [slack.post(form, content_type="application/x-www-form-urlencoded", timestamp=signed_at)
                   for _ in range(3)]
        slack.stub.wait_for_calls("chat.update", 1)
        slack.executor.wait_idle()
        updates = slack.stub.calls_to("chat.update")
    assert [reply.status_code for reply in replies] == [200, 200, 200]
    assert [decision[:3] for decision in agent.decisions] == [("T9PQR", "approve", REP)]
    assert len(updates) == 1
