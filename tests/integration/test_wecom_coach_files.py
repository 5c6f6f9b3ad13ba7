"""A chat export sent to the WeCom app as a file message → one card reply with 「确认 …」 commands (stub API)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from connectors.wecom.app import create_wecom_app
from connectors.wecom.crypto import WeComCrypto
from salesbot.settings import SAMPLES_DIR, get_settings, reset_runtime
from tests.chat_screenshots import (
    assert_card_matches_labels,
    rendered_chat_screenshot,
    requires_screenshot_rendering,
)
from tests.conftest import TESTDATA_DIR
from tests.stubs.wecom_api import (
    STUB_AGENT_ID,
    WeComApiStub,
    WeComCallbackClient,
    serve_asgi_app_in_thread,
    wecom_app_settings,
)

OFFICIAL = json.loads((TESTDATA_DIR / "wecom" / "wecom_crypto_vectors.json").read_text(encoding="utf-8"))["tencent_xml"]
CHAT_EXPORT = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "conversations" / "dev" / "d05_chat.txt"
REPLY_TIMEOUT_S = 120.0  # a bound on waiting for the asynchronous reply, not a speed requirement


@pytest.fixture
def wecom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WeComApiStub, WeComCallbackClient]]:
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("users:\n  chen.jie: rep\n", encoding="utf-8")
    with WeComApiStub() as api_stub:
        for name, value in {
            **wecom_app_settings(api_stub, OFFICIAL, roles_file),
            "SALESBOT_PRICING_POLICY_FILE": str(SAMPLES_DIR / "policy" / "pricing_policy.yaml"),
            "SALESBOT_ENTITIES_FILE": str(SAMPLES_DIR / "entities.yaml"),
        }.items():
            monkeypatch.setenv(name, value)
        reset_runtime()
        get_settings.cache_clear()
        app = create_wecom_app(get_settings())
        with serve_asgi_app_in_thread(app) as base_url:
            crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
            yield api_stub, WeComCallbackClient(base_url, crypto)
            assert app.state.wecom_service.wait_until_idle(REPLY_TIMEOUT_S)


def file_message_xml(from_user: str, media_id: str, msg_id: str) -> str:
    """A decrypted WeCom file message (MsgType=file), as the official callback shows it."""
    return (f"<xml><ToUserName><![CDATA[{OFFICIAL['corp_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{from_user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[file]]></MsgType><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{STUB_AGENT_ID}</AgentID></xml>")


def image_message_xml(from_user: str, media_id: str, msg_id: str) -> str:
    """A decrypted WeCom image message (MsgType=image, PicUrl and MediaId), as the official callback shows it."""
    return (f"<xml><ToUserName><![CDATA[{OFFICIAL['corp_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{from_user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[https://wework.qpic.cn/{media_id}]]></PicUrl>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId><AgentID>{STUB_AGENT_ID}</AgentID></xml>")


def count_tasks() -> int:
    from tools.db.tables import Task, sales_session

    with sales_session() as session:
        return len(session.exec(select(Task)).all())


def test_chat_export_file_message_gets_a_card_with_confirm_commands(
        wecom: tuple[WeComApiStub, WeComCallbackClient]) -> None:
    api_stub, client = wecom
    api_stub.media["media-chat-1"] = ("chat_export.txt", CHAT_EXPORT.read_bytes())
    assert client.post_plaintext_xml(file_message_xml("chen.jie", "media-chat-1", "990001")).status_code == 200
    [reply] = api_stub.wait_for_messages(1, timeout_s=REPLY_TIMEOUT_S)
    content = reply["markdown"]["content"]
    assert reply["touser"] == "chen.jie" and "商机卡片" in content
    assert "成都西部医疗中心" in content and "X2" in content
    action_ids = re.findall(r"「确认 ([A-Za-z0-9_-]+)」", "\n".join(api_stub.sent_markdown()))
    assert action_ids and count_tasks() == 0  # nothing written before the rep confirms
    assert api_stub.calls_to("/media/get")[0].query["media_id"] == "media-chat-1"


def test_file_of_an_unreadable_type_gets_one_clear_line(wecom: tuple[WeComApiStub, WeComCallbackClient]) -> None:
    api_stub, client = wecom
    api_stub.media["media-deck"] = ("deck.pptx", b"PK\x03\x04")
    client.post_plaintext_xml(file_message_xml("chen.jie", "media-deck", "990002"))
    [reply] = api_stub.wait_for_messages(1, timeout_s=REPLY_TIMEOUT_S)
    assert "deck.pptx" in reply["markdown"]["content"] and "抱歉" not in reply["markdown"]["content"]


def test_a_file_sent_after_the_access_token_expired_is_still_fetched(
        wecom: tuple[WeComApiStub, WeComCallbackClient]) -> None:
    api_stub, client = wecom
    api_stub.media["media-deck-1"] = ("deck_one.pptx", b"PK\x03\x04")
    api_stub.media["media-deck-2"] = ("deck_two.pptx", b"PK\x03\x04")
    client.post_plaintext_xml(file_message_xml("chen.jie", "media-deck-1", "990003"))
    api_stub.wait_for_messages(1, timeout_s=REPLY_TIMEOUT_S)
    api_stub.expire_all_tokens()  # two hours later, WeCom has expired the app's token
    client.post_plaintext_xml(file_message_xml("chen.jie", "media-deck-2", "990004"))
    replies = api_stub.wait_for_messages(2, timeout_s=REPLY_TIMEOUT_S)
    # Fetched (so its type is named), not "could not be fetched": the token was refreshed and the download retried.
    assert "deck_two.pptx" in replies[1]["markdown"]["content"]
    assert len(api_stub.calls_to("/gettoken")) == 2


@pytest.mark.slow
@requires_screenshot_rendering()
def test_a_chinese_chat_screenshot_sent_as_an_image_is_read_by_ocr_into_the_card(
        wecom: tuple[WeComApiStub, WeComCallbackClient]) -> None:
    api_stub, client = wecom
    png, expected = rendered_chat_screenshot()
    api_stub.media["media-screenshot-1"] = ("media-screenshot-1.png", png)
    client.post_plaintext_xml(image_message_xml("chen.jie", "media-screenshot-1", "990005"))
    [reply] = api_stub.wait_for_messages(1, timeout_s=REPLY_TIMEOUT_S)
    assert_card_matches_labels(reply["markdown"]["content"], expected)
    assert re.findall(r"「确认 ([A-Za-z0-9_-]+)」", "\n".join(api_stub.sent_markdown())) and count_tasks() == 0
