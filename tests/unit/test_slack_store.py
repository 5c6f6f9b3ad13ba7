"""The Slack connector's SQLite store, and the dedupe middleware over the connectors' shared event store."""

from __future__ import annotations

import json

import pytest
from slack_bolt import BoltRequest, BoltResponse

from connectors.common.dedupe import EventDedupeStore
from connectors.slack.dedupe import build_dedupe_middleware
from connectors.slack.store import SlackConnectorStore
from tests.action_views import action_view
from tests.stubs.slack_api import app_mention_event, event_callback_body


def test_pending_action_snapshot_round_trips() -> None:
    store = SlackConnectorStore()
    assert store.pending_action_snapshot("A7K2Q") is None
    store.remember_pending_action(action_view(id="A7K2Q", args={"customer": "华东人民医院", "quantity": 3},
                                              summary="Quote 3 × QM-X3"))
    assert SlackConnectorStore().pending_action_snapshot("A7K2Q") == (
        {"customer": "华东人民医院", "quantity": 3}, "Quote 3 × QM-X3")


def test_messages_showing_an_action_are_remembered_and_updated_in_place() -> None:
    store = SlackConnectorStore()
    thread_blocks = [{"type": "actions", "block_id": "a"}, {"type": "actions", "block_id": "b"}]
    dm_blocks = [{"type": "actions", "block_id": "a-dm"}]
    store.remember_action_message("A1", "C0SALES001", "1.1", thread_blocks)
    store.remember_action_message("B2", "C0SALES001", "1.1", thread_blocks)  # two proposals, one message
    store.remember_action_message("A1", "D0LIUYANG1", "2.2", dm_blocks)
    assert store.action_messages("A1") == [("C0SALES001", "1.1", thread_blocks), ("D0LIUYANG1", "2.2", dm_blocks)]
    store.update_message_blocks("C0SALES001", "1.1", [{"type": "context"}, {"type": "actions", "block_id": "b"}])
    # Deciding B2 later starts from the message as it is now, not as it was first posted.
    assert SlackConnectorStore().action_messages("B2") == [
        ("C0SALES001", "1.1", [{"type": "context"}, {"type": "actions", "block_id": "b"}])]
    assert store.action_messages("unknown") == []


def test_threads_the_bot_replies_in_are_remembered_until_retention_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.slack.store

    store = SlackConnectorStore()
    store.remember_bot_thread("C0SALES001", "1.1")
    store.remember_bot_thread("C0SALES001", "1.1")  # a second reply in the same thread
    assert SlackConnectorStore().bot_takes_part_in_thread("C0SALES001", "1.1")
    assert not store.bot_takes_part_in_thread("C0SALES001", "2.2")
    assert not store.bot_takes_part_in_thread("C0OTHER001", "1.1")
    # A month of silence later, opening the store forgets the thread.
    monkeypatch.setattr(connectors.slack.store, "MESSAGE_RETENTION_SECONDS", -1)
    assert not SlackConnectorStore().bot_takes_part_in_thread("C0SALES001", "1.1")


def _event_request(event_id: str, retry: str | None = None) -> BoltRequest:
    body = event_callback_body(app_mention_event("hi", "U0ZHANGWEI", "C0SALES001", "1700000000.000100"), event_id)
    headers = {"content-type": ["application/json"]}
    if retry:
        headers["x-slack-retry-num"] = [retry]
    return BoltRequest(body=json.dumps(body), headers=headers)


def test_dedupe_middleware_passes_the_first_delivery_and_acks_redeliveries_without_processing() -> None:
    middleware = build_dedupe_middleware(EventDedupeStore())
    calls: list[str] = []

    def next_listener() -> BoltResponse:
        calls.append("processed")
        return BoltResponse(status=200, body="processed")

    first = middleware(_event_request("Ev10"), next_listener)
    retried = middleware(_event_request("Ev10", retry="1"), next_listener)
    other = middleware(_event_request("Ev11"), next_listener)
    assert (first.body, retried.status, retried.body, other.body) == ("processed", 200, "", "processed")
    assert calls == ["processed", "processed"]


def test_dedupe_middleware_ignores_requests_without_an_event_id() -> None:
    middleware = build_dedupe_middleware(EventDedupeStore())
    request = BoltRequest(body=json.dumps({"type": "url_verification", "challenge": "c"}),
                          headers={"content-type": ["application/json"]})
    passes = [middleware(request, lambda: BoltResponse(status=200, body="ok")).body for _ in range(2)]
    assert passes == ["ok", "ok"]


def _signed_form_request(form: str, timestamp: str) -> BoltRequest:
    return BoltRequest(body=form, headers={"content-type": ["application/x-www-form-urlencoded"],
                                           "x-slack-request-timestamp": [timestamp]})


def test_replayed_slash_command_and_button_press_are_processed_once() -> None:
    from tests.stubs.slack_api import block_actions_payload, interactive_form, slash_command_form

    middleware = build_dedupe_middleware(EventDedupeStore())
    calls: list[str] = []

    def next_listener() -> BoltResponse:
        calls.append("processed")
        return BoltResponse(status=200, body="processed")

    command = slash_command_form("renew 华东人民医院", "U0ZHANGWEI", "C0SALES001", "https://hooks.example/1")
    press = interactive_form(block_actions_payload("approve", "T9PQR", "b1", "U0ZHANGWEI", "C0SALES001",
                                                   {"ts": "1.1"}))
    replayed_command = [middleware(_signed_form_request(command, "1700000000"), next_listener).body for _ in range(3)]
    replayed_press = [middleware(_signed_form_request(press, "1700000000"), next_listener).body for _ in range(3)]
    # Same text typed again later is a new request (Slack signs it with a new timestamp and trigger id).
    typed_again = middleware(_signed_form_request(command, "1700000060"), next_listener).body
    assert replayed_command == ["processed", "", ""]
    assert replayed_press == ["processed", "", ""]
    assert typed_again == "processed"
    assert calls == ["processed"] * 3


def test_options_loads_and_ssl_checks_are_not_deduplicated() -> None:
    middleware = build_dedupe_middleware(EventDedupeStore())
    suggestion = "payload=" + json.dumps({"type": "block_suggestion", "value": "华"})
    requests = [_signed_form_request(suggestion, "1700000000"), _signed_form_request("ssl_check=1", "1700000000")]
    passes = [middleware(request, lambda: BoltResponse(status=200, body="ok")).body
              for request in requests for _ in range(2)]
    assert passes == ["ok"] * 4
