"""The WeCom sender against the stub API on 127.0.0.1: token caching and refresh, uploads, timeouts, errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.wecom.models import ActionCard, RenderedReply
from connectors.wecom.sender import ConfigurableWeComClient, WeComSender, WeComSendError
from connectors.wecom.session_store import SqliteSessionStorage
from tests.stubs.wecom_api import (
    ERRCODE_EXPIRED_ACCESS_TOKEN,
    ERRCODE_INVALID_MEDIA_ID,
    STUB_AGENT_ID,
    STUB_CORP_ID,
    STUB_SECRET,
    WeComApiStub,
)


@pytest.fixture
def api_stub() -> Iterator[WeComApiStub]:
    with WeComApiStub() as stub:
        yield stub


def sender_for(base_url: str, session_path: Path | None = None, secret: str = STUB_SECRET,
               timeout_s: float = 10.0) -> WeComSender:
    session = SqliteSessionStorage(session_path) if session_path else None
    client = ConfigurableWeComClient(STUB_CORP_ID, secret, base_url, session=session, timeout_s=timeout_s)
    return WeComSender(client, STUB_AGENT_ID)


def test_token_is_fetched_once_from_the_configured_base_url_and_reused(api_stub: WeComApiStub) -> None:
    sender = sender_for(api_stub.base_url.rstrip("/"))  # a base URL without the trailing slash works too
    sender.send_markdown("zhang.wei", "第一条")
    sender.send_markdown("zhang.wei", "第二条")
    (token_call,) = api_stub.calls_to("/gettoken")
    assert token_call.query == {"corpid": STUB_CORP_ID, "corpsecret": STUB_SECRET}
    assert [call.query["access_token"] for call in api_stub.calls_to("/message/send")] == ["stub-token-1"] * 2
    assert api_stub.sent_markdown() == ["第一条", "第二条"]


def test_expired_token_is_refreshed_and_the_message_still_delivered(api_stub: WeComApiStub) -> None:
    sender = sender_for(api_stub.base_url)
    sender.send_markdown("zhang.wei", "before")
    api_stub.expire_all_tokens()
    sender.send_markdown("zhang.wei", "after")
    assert len(api_stub.calls_to("/gettoken")) == 2
    assert api_stub.sent_markdown() == ["before", "after"]
    assert api_stub.calls_to("/message/send")[-1].query["access_token"] == "stub-token-2"


def test_token_survives_a_restart_through_the_sqlite_session_store(api_stub: WeComApiStub, tmp_path: Path) -> None:
    session_path = tmp_path / "wechatpy_session.sqlite3"
    sender_for(api_stub.base_url, session_path).send_markdown("zhang.wei", "one")
    sender_for(api_stub.base_url, session_path).send_markdown("zhang.wei", "two")
    assert len(api_stub.calls_to("/gettoken")) == 1
    assert api_stub.sent_markdown() == ["one", "two"]


def test_deliver_sends_text_then_cards_and_keeps_going_when_an_image_is_missing(
    api_stub: WeComApiStub, tmp_path: Path
) -> None:
    reply = RenderedReply(markdown_chunks=["a", "b"], image_paths=[str(tmp_path / "missing.png")],
                          action_cards=[ActionCard(action_id="A7K2Q", title="待确认操作 A7K2Q", description="回访")])
    sender_for(api_stub.base_url).deliver("zhang.wei", reply)
    messages = api_stub.sent_messages()
    assert [message["msgtype"] for message in messages] == ["markdown", "markdown", "template_card"]
    card = messages[2]["template_card"]
    assert card["card_type"] == "button_interaction"
    assert [button["text"] for button in card["button_list"]] == ["确认", "取消"]
    assert api_stub.calls_to("/media/upload") == []


def test_wrong_secret_raises_a_send_error(api_stub: WeComApiStub) -> None:
    with pytest.raises(WeComSendError, match="send markdown"):
        sender_for(api_stub.base_url, secret="wrong-secret").send_markdown("zhang.wei", "x")
    assert api_stub.sent_messages() == []


def test_an_api_that_never_answers_times_out_instead_of_hanging() -> None:
    # A listening socket that never accepts: the connection opens, no response ever comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        sender = sender_for(f"http://127.0.0.1:{port}/cgi-bin/", timeout_s=0.5)
        with pytest.raises(WeComSendError):
            sender.send_markdown("zhang.wei", "x")


def test_media_download_after_the_token_expired_refreshes_it_once_and_retries(api_stub: WeComApiStub) -> None:
    api_stub.media["media-1"] = ("call.txt", "销售：您好".encode())
    sender = sender_for(api_stub.base_url)
    assert sender.download_media("media-1", 1000) == ("销售：您好".encode(), "call.txt")
    api_stub.expire_all_tokens()  # WeCom expired the token the client still holds as fresh
    assert sender.download_media("media-1", 1000) == ("销售：您好".encode(), "call.txt")
    assert len(api_stub.calls_to("/gettoken")) == 2
    assert [(call.query["access_token"], call.errcode) for call in api_stub.calls_to("/media/get")] == [
        ("stub-token-1", 0), ("stub-token-1", ERRCODE_EXPIRED_ACCESS_TOKEN), ("stub-token-2", 0)]
    sender.send_markdown("zhang.wei", "x")  # the refreshed token is the one kept
    assert api_stub.calls_to("/message/send")[-1].query["access_token"] == "stub-token-2"


def test_media_download_retries_once_only_when_the_new_token_is_refused_too(api_stub: WeComApiStub) -> None:
    api_stub.media["media-1"] = ("call.txt", b"hello")
    sender = sender_for(api_stub.base_url)
    sender.download_media("media-1", 1000)
    api_stub.tokens_work = False
    api_stub.expire_all_tokens()
    with pytest.raises(WeComSendError, match="media/get refused media-1"):
        sender.download_media("media-1", 1000)
    assert len(api_stub.calls_to("/gettoken")) == 2  # one refresh, no loop
    assert [call.errcode for call in api_stub.calls_to("/media/get")] == [0, ERRCODE_EXPIRED_ACCESS_TOKEN,
                                                                         ERRCODE_EXPIRED_ACCESS_TOKEN]


def test_media_download_with_another_errcode_fails_at_once_without_a_token_refresh(api_stub: WeComApiStub) -> None:
    sender = sender_for(api_stub.base_url)
    with pytest.raises(WeComSendError, match="invalid media_id"):
        sender.download_media("media-gone", 1000)
    assert len(api_stub.calls_to("/gettoken")) == 1
    assert [call.errcode for call in api_stub.calls_to("/media/get")] == [ERRCODE_INVALID_MEDIA_ID]
