"""Parsing decrypted WeCom XML into models; the dedupe store and the wechatpy token store in SQLite."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from connectors.wecom import session_store
from connectors.wecom.models import WeComCardEvent, WeComTextMessage, WeComUnsupportedMessage
from connectors.wecom.parse import WeComMessageMalformed, parse_callback_xml
from connectors.wecom.session_store import SqliteSessionStorage

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wecom" / "wecom_crypto_vectors.json")
                     .read_text(encoding="utf-8"))


def test_official_sample_plaintexts_parse_into_text_messages() -> None:
    plain = parse_callback_xml(VECTORS["tencent_xml"]["decrypt_msg"]["expected_plaintext"])
    assert isinstance(plain, WeComTextMessage)
    assert (plain.from_user, plain.to_user, plain.content, plain.msg_id, plain.agent_id, plain.create_time) == (
        "ChenJiaShun", "ww1436e0e65a779aee", "你好", "1456453720", "1000002", 1476422779
    )
    assert plain.dedupe_key == "msg:1456453720"
    assert plain.thread_id == "wecom:ChenJiaShun"
    cdata = parse_callback_xml(VECTORS["tencent_doc_QDG6eK"]["decrypt_msg_xml"]["expected_plaintext"])
    assert isinstance(cdata, WeComTextMessage)
    assert (cdata.from_user, cdata.content, cdata.msg_id) == ("mycreate", "hello", "4561255354251345929")


def test_template_card_click_parses_into_a_card_event() -> None:
    xml = (
        "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[zhang.wei]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[approve:A7K2Q]]></EventKey>"
        "<TaskId><![CDATA[salesbot-A7K2Q-1]]></TaskId><ResponseCode><![CDATA[rc-1]]></ResponseCode>"
        "<AgentID>1000002</AgentID></xml>"
    )
    event = parse_callback_xml(xml)
    assert isinstance(event, WeComCardEvent)
    assert (event.event_key, event.task_id, event.response_code, event.from_user) == (
        "approve:A7K2Q", "salesbot-A7K2Q-1", "rc-1", "zhang.wei"
    )
    assert event.dedupe_key == "card:zhang.wei:1700000000:salesbot-A7K2Q-1:approve:A7K2Q"


def test_images_get_a_hint_but_system_events_are_ignored() -> None:
    image = parse_callback_xml(
        "<xml><FromUserName>u1</FromUserName><MsgType>image</MsgType><MsgId>77</MsgId><CreateTime>1</CreateTime></xml>"
    )
    assert isinstance(image, WeComUnsupportedMessage) and image.deserves_reply and image.dedupe_key == "msg:77"
    enter = parse_callback_xml(
        "<xml><FromUserName>u1</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    )
    assert isinstance(enter, WeComUnsupportedMessage) and not enter.deserves_reply


def test_non_xml_plaintext_is_malformed() -> None:
    with pytest.raises(WeComMessageMalformed):
        parse_callback_xml('{"MsgType": "text"}')


def test_token_store_honours_ttl_and_persists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "session.sqlite3"
    storage = SqliteSessionStorage(path)
    storage.set("corp_access_token", "token-1", 7200)
    storage.set("short_lived", "x", 1)
    storage.set("ignored", None)
    assert SqliteSessionStorage(path).get("corp_access_token") == "token-1"
    assert storage.get("ignored", "default") == "default"
    assert storage.get("short_lived") == "x"
    two_seconds_later = time.time() + 2
    monkeypatch.setattr(session_store.time, "time", lambda: two_seconds_later)
    assert storage.get("short_lived") is None
    assert storage.get("corp_access_token") == "token-1"
    storage.delete("corp_access_token")
    assert storage.get("corp_access_token") is None
