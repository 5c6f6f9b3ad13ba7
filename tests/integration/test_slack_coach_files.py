"""A conversation file shared with the bot in Slack → one card reply with confirm buttons (stub Web API, real coach)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from connectors.slack.models import APPROVE_ACTION_ID, PendingBlockOrigin
from salesbot.settings import SAMPLES_DIR, get_settings, reset_runtime
from tests.chat_screenshots import (
    assert_card_matches_labels,
    rendered_chat_screenshot,
    requires_screenshot_rendering,
)
from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import (
    STUB_BOT_USER_ID,
    RunningSlackApp,
    app_mention_event,
    block_actions_payload,
    file_share_event,
    running_slack_app,
)

ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"
TRANSCRIPT = TESTDATA_DIR / "coach" / "call_zh.txt"
REP, DM, CHANNEL = "U0ZHANGWEI", "D0ZHANGWEI", "C0SALES001"
WAIT_S = 120.0  # a bound on waiting for the lazy listener, not a speed requirement


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSlackApp]:
    monkeypatch.setenv("SALESBOT_LLM", "none")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(SAMPLES_DIR / "policy" / "pricing_policy.yaml"))
    monkeypatch.setenv("SALESBOT_ENTITIES_FILE", str(SAMPLES_DIR / "entities.yaml"))
    reset_runtime()
    get_settings.cache_clear()
    with running_slack_app(roles_file=ROLES_FILE) as running:
        yield running


def posts(slack: RunningSlackApp) -> list[Any]:
    return slack.stub.calls_to("chat.postMessage")


def approve_buttons(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(block["block_id"], element) for block in params["blocks"] if block["type"] == "actions"
            and PendingBlockOrigin.from_block_id(block["block_id"]) for element in block["elements"]
            if element["action_id"] == APPROVE_ACTION_ID]


def count_tasks() -> int:
    from tools.db.tables import Task, sales_session

    with sales_session() as session:
        return len(session.exec(select(Task)).all())


def test_transcript_shared_in_a_dm_becomes_one_card_with_buttons(slack: RunningSlackApp) -> None:
    shared = slack.stub.add_shared_file("call_zh.txt", TRANSCRIPT.read_bytes())
    assert slack.post_event(file_share_event([shared], REP, DM, "1700000100.000100"), "EvCoach1").status_code == 200
    [reply] = slack.stub.wait_for_calls("chat.postMessage", 1, timeout_s=WAIT_S)
    slack.executor.wait_idle(WAIT_S)
    assert len(posts(slack)) == 1
    text = reply.params["text"]
    assert "商机卡片" in text and "华东人民医院" in text and "X3" in text and "回避价格: 3" in text
    [download] = slack.stub.calls_to("file.download")
    assert download.token == "xoxb-stub-token"
    buttons = approve_buttons(reply.params)
    assert buttons and count_tasks() == 0  # nothing written before a person confirms

    message = {"ts": reply.response["ts"], "text": text, "blocks": reply.params["blocks"]}
    for _ in range(2):  # the second round is a double click: it changes nothing
        for block_id, button in buttons:
            slack.post_interaction(block_actions_payload(APPROVE_ACTION_ID, button["value"], block_id, REP, DM,
                                                         message))
            slack.executor.wait_idle(WAIT_S)
    assert count_tasks() == 1


def test_wrong_type_too_big_and_foreign_links_get_one_clear_line(slack: RunningSlackApp,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    deck = slack.stub.add_shared_file("deck.pptx", b"PK\x03\x04")
    foreign = slack.stub.add_shared_file("call.txt", TRANSCRIPT.read_bytes())
    # Same stub, another host name: were the token sent there, the stub would record the download.
    port = slack.stub.root_url.rsplit(":", 1)[1].rstrip("/")
    slack.stub.shared_files[foreign["id"]]["url_private_download"] = f"http://localhost:{port}/files/{foreign['id']}/x"
    slack.post_event(file_share_event([deck, foreign], REP, DM, "1700000100.000200"), "EvCoach2")
    replies = slack.stub.wait_for_calls("chat.postMessage", 2, timeout_s=WAIT_S)
    assert "deck.pptx" in replies[0].params["text"] and ".eml" in replies[0].params["text"]
    assert "not on the Slack host" in replies[1].params["text"]
    assert slack.stub.calls_to("file.download") == []

    import connectors.common.coach
    import connectors.slack.files

    monkeypatch.setattr(connectors.common.coach, "MAX_INPUT_BYTES", 100)
    monkeypatch.setattr(connectors.slack.files, "MAX_INPUT_BYTES", 100)
    big = slack.stub.add_shared_file("call_zh.txt", TRANSCRIPT.read_bytes())
    slack.post_event(file_share_event([big], REP, DM, "1700000100.000300"), "EvCoach3")
    replies = slack.stub.wait_for_calls("chat.postMessage", 3, timeout_s=WAIT_S)
    assert "文件过大" in replies[2].params["text"]
    assert all("Traceback" not in call.params["text"] and not call.params["text"].startswith(("Sorry", "抱歉"))
               for call in posts(slack))


def test_a_file_shared_in_a_thread_the_bot_is_in_is_coached_without_a_mention(slack: RunningSlackApp) -> None:
    from connectors.slack.store import SlackConnectorStore

    # The rep asks the bot about a file in a channel: Slack sends app_mention and message.channels for it.
    first = slack.stub.add_shared_file("call_zh.txt", TRANSCRIPT.read_bytes())
    root = "1700000200.000100"
    mention = {**app_mention_event("看看这通电话", REP, CHANNEL, root), "files": [first]}
    slack.post_event(mention, "EvThread1")
    slack.post_event(file_share_event([first], REP, CHANNEL, root, text=mention["text"], channel_type="channel"),
                     "EvThread1Message")
    slack.stub.wait_for_calls("chat.postMessage", 1, timeout_s=WAIT_S)
    slack.executor.wait_idle(WAIT_S)
    assert len(posts(slack)) == 1  # the mention's copy as a message event is not coached a second time

    # In that thread, a file with a mention (both events again, now in the thread: still one card) ...
    second = slack.stub.add_shared_file("通话记录2.txt", TRANSCRIPT.read_bytes())  # a name to %-escape
    mention = {**app_mention_event("再看这个", REP, CHANNEL, "1700000200.000200", thread_ts=root), "files": [second]}
    slack.post_event(mention, "EvThread2")
    slack.post_event(file_share_event([second], REP, CHANNEL, "1700000200.000200", text=mention["text"],
                                      channel_type="channel", thread_ts=root), "EvThread2Message")
    slack.stub.wait_for_calls("chat.postMessage", 2, timeout_s=WAIT_S)
    slack.executor.wait_idle(WAIT_S)
    assert len(posts(slack)) == 2

    # ... and one without any mention, which Slack redelivers once (a retry): one card.
    third = slack.stub.add_shared_file("call_zh_3.txt", TRANSCRIPT.read_bytes())
    in_thread = file_share_event([third], REP, CHANNEL, "1700000200.000300", text="还有这个",
                                 channel_type="channel", thread_ts=root)
    slack.post_event(in_thread, "EvThread3")
    slack.post_event(in_thread, "EvThread3", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    slack.stub.wait_for_calls("chat.postMessage", 3, timeout_s=WAIT_S)
    slack.executor.wait_idle(WAIT_S)

    # Files in a channel thread the bot never joined, or at a channel's top level, are not for the bot.
    stranger = slack.stub.add_shared_file("call_zh.txt", TRANSCRIPT.read_bytes())
    slack.post_event(file_share_event([stranger], REP, CHANNEL, "1700000300.000200", channel_type="channel",
                                      thread_ts="1700000300.000100"), "EvThread4")
    slack.post_event(file_share_event([stranger], REP, CHANNEL, "1700000300.000300", channel_type="channel"),
                     "EvThread5")
    # Nor is the bot's own upload in its thread (a chart: files_upload_v2 posts it as the bot user).
    slack.post_event(file_share_event([stranger], STUB_BOT_USER_ID, CHANNEL, "1700000200.000400",
                                      channel_type="channel", thread_ts=root), "EvThread6")
    slack.executor.wait_idle(WAIT_S)

    replies = posts(slack)
    assert len(replies) == 3 and all(reply.params["thread_ts"] == root for reply in replies)
    assert all("商机卡片" in reply.params["text"] and approve_buttons(reply.params) for reply in replies)
    assert [call.params["path"].split("/")[2] for call in slack.stub.calls_to("file.download")] == [
        first["id"], second["id"], third["id"]]
    # Durable, not in memory: another store on the same database (another process, a restart) knows the thread.
    store = SlackConnectorStore()
    assert store.bot_takes_part_in_thread(CHANNEL, root)
    assert not store.bot_takes_part_in_thread(CHANNEL, "1700000300.000100")


@pytest.mark.slow
@requires_screenshot_rendering()
def test_a_chinese_chat_screenshot_shared_in_a_dm_is_read_by_ocr_into_the_card(slack: RunningSlackApp) -> None:
    png, expected = rendered_chat_screenshot()
    shared = slack.stub.add_shared_file("微信聊天.png", png)
    slack.post_event(file_share_event([shared], REP, DM, "1700000400.000100"), "EvScreenshot1")
    [reply] = slack.stub.wait_for_calls("chat.postMessage", 1, timeout_s=WAIT_S)
    slack.executor.wait_idle(WAIT_S)
    assert_card_matches_labels(reply.params["text"], expected)
    assert approve_buttons(reply.params) and count_tasks() == 0
