"""The WeCom callback app over real HTTP on 127.0.0.1: official vectors, signatures, async replies, dedupe."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from agent.decisions import parse_decision_command
from agent.models import TurnRequest, TurnResult
from connectors.wecom.app import STALE_CALLBACK_ANSWER, create_wecom_app
from connectors.wecom.crypto import WeComCrypto
from salesbot.settings import Settings
from tests.action_views import action_view
from tests.stubs.wecom_api import (
    STUB_AGENT_ID,
    STUB_SECRET,
    WeComApiStub,
    WeComCallbackClient,
    card_event_xml,
    serve_asgi_app_in_thread,
    text_message_xml,
)

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wecom" / "wecom_crypto_vectors.json")
                     .read_text(encoding="utf-8"))
OFFICIAL = VECTORS["tencent_xml"]  # its corp id is the stub's, so the official POST sample reaches the stub


def settings_for(vector_set: str, api_url: str = "http://127.0.0.1:9/cgi-bin/") -> Settings:
    vectors = VECTORS[vector_set]
    return Settings(wecom_token=vectors["token"], wecom_aes_key=vectors["encoding_aes_key"],
                    wecom_corp_id=vectors["corp_id"], wecom_agent_id=STUB_AGENT_ID, wecom_secret=STUB_SECRET,
                    wecom_api_url=api_url)


class ScriptedAgent:
    """Fake agent entry points that record calls and the order of events around them."""

    def __init__(self, result: TurnResult | None = None, delay_s: float = 0.0) -> None:
        self.result = result or TurnResult(answer="这是回答", language="zh")
        self.delay_s = delay_s
        self.turns: list[TurnRequest] = []
        self.decisions: list[tuple[Any, ...]] = []
        self.languages: list[str | None] = []
        self.events: list[str] = []
        self._lock = threading.Lock()

    def record(self, event: str) -> None:
        with self._lock:
            self.events.append(event)

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        command = parse_decision_command(request.text)
        if command is not None:  # as agent.service.answer_turn does: a typed decision goes to the gate
            return self.decide_action(command.action_id, command.decision, request.user_id, request.role,
                                      command.edited_args or None, language=command.language)
        self.record("agent_started")
        self.turns.append(request)
        time.sleep(self.delay_s)
        self.record("agent_finished")
        return self.result

    def decide_action(self, action_id: str, decision: str, user_id: str, role: str,
                      edited_args: dict[str, Any] | None = None, *, language: str | None = None) -> TurnResult:
        self.languages.append(language)
        self.decisions.append((action_id, decision, user_id, role, edited_args))
        return TurnResult(answer=f"{decision} {action_id} done", language="en")


def pinned_clock(timestamp: str | int) -> Any:
    """The official vectors are from 2014-2016; replaying them needs the server's clock set to their time."""
    return lambda: float(timestamp)


@pytest.fixture
def api_stub() -> Iterator[WeComApiStub]:
    with WeComApiStub() as stub:
        yield stub


def serve(settings: Settings, agent: ScriptedAgent | None = None, **options: Any):  # type: ignore[no-untyped-def]
    agent = agent or ScriptedAgent()
    app = create_wecom_app(settings, answer_turn=agent.answer_turn, decide_action=agent.decide_action,
                           role_for=lambda _user: "rep", **options)
    return app, serve_asgi_app_in_thread(app)


@pytest.mark.parametrize("vector_set", ["tencent_xml", "wechatpy", "tencent_doc_QDG6eK"])
def test_url_verification_echoes_the_official_plaintext(vector_set: str) -> None:
    verify = VECTORS[vector_set]["verify_url"]
    _app, server = serve(settings_for(vector_set), clock=pinned_clock(verify["timestamp"]))
    with server as base_url:
        query = urlencode({key: verify[key] for key in ("msg_signature", "timestamp", "nonce", "echostr")})
        response = httpx.get(f"{base_url}/wecom/callback?{query}", timeout=10)
    assert response.status_code == 200
    assert response.text == verify["expected_echo_plaintext"]


def test_url_verification_with_the_documented_urlencoded_and_raw_echostr() -> None:
    verify = VECTORS["tencent_doc_QDG6eK"]["verify_url"]
    signature_part = f"msg_signature={verify['msg_signature']}&timestamp={verify['timestamp']}&nonce={verify['nonce']}"
    _app, server = serve(settings_for("tencent_doc_QDG6eK"), clock=pinned_clock(verify["timestamp"]))
    with server as base_url:
        # Exactly as Tencent's documentation shows the request line, and once with '+' and '/' left raw.
        encoded = httpx.get(f"{base_url}/wecom/callback?{signature_part}&echostr={verify['echostr_urlencoded']}",
                            timeout=10)
        raw = httpx.get(f"{base_url}/wecom/callback?{signature_part}&echostr={verify['echostr']}", timeout=10)
    assert (encoded.status_code, encoded.text) == (200, verify["expected_echo_plaintext"])
    assert (raw.status_code, raw.text) == (200, verify["expected_echo_plaintext"])


def test_health_endpoint_answers_for_a_load_balancer() -> None:
    _app, server = serve(settings_for("tencent_xml"))
    with server as base_url:
        response = httpx.get(f"{base_url}/healthz", timeout=10)
    assert (response.status_code, response.text) == (200, "ok")


def test_url_verification_with_a_wrong_nonce_or_missing_parameters_is_refused() -> None:
    bad = VECTORS["wechatpy"]["verify_url_bad_nonce_must_fail"]
    _app, server = serve(settings_for("wechatpy"), clock=pinned_clock(bad["timestamp"]))
    with server as base_url:
        wrong = httpx.get(f"{base_url}/wecom/callback?{urlencode(bad)}", timeout=10)
        missing = httpx.get(f"{base_url}/wecom/callback?nonce=1", timeout=10)
    assert wrong.status_code == 403
    assert VECTORS["wechatpy"]["verify_url"]["expected_echo_plaintext"] not in wrong.text
    assert missing.status_code == 400


def test_official_encrypted_sample_is_decrypted_and_answered_through_the_api(api_stub: WeComApiStub) -> None:
    sample = OFFICIAL["decrypt_msg"]
    agent = ScriptedAgent()
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent, clock=pinned_clock(sample["timestamp"]))
    with server as base_url:
        query = urlencode({key: sample[key] for key in ("msg_signature", "timestamp", "nonce")})
        response = httpx.post(f"{base_url}/wecom/callback?{query}", content=sample["post_body"].encode("utf-8"),
                              timeout=10)
        assert (response.status_code, response.content) == (200, b"")
        messages = api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    assert agent.turns == [TurnRequest(text="你好", user_id="ChenJiaShun", role="rep", thread_id="wecom:ChenJiaShun",
                                       channel="wecom")]
    assert messages == [{"touser": "ChenJiaShun", "toparty": "", "totag": "", "agentid": int(STUB_AGENT_ID),
                         "msgtype": "markdown", "markdown": {"content": "这是回答"}}]
    assert len(api_stub.calls_to("/gettoken")) == 1


def test_official_2016_sample_is_refused_as_stale_on_the_real_clock(api_stub: WeComApiStub) -> None:
    """Live serving: Tencent's published sample is correctly signed but years old, so replaying it is refused."""
    sample = OFFICIAL["decrypt_msg"]
    verify = OFFICIAL["verify_url"]
    agent = ScriptedAgent()
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    with server as base_url:
        query = urlencode({key: sample[key] for key in ("msg_signature", "timestamp", "nonce")})
        replayed = httpx.post(f"{base_url}/wecom/callback?{query}", content=sample["post_body"].encode("utf-8"),
                              timeout=10)
        verify_query = urlencode({key: verify[key] for key in ("msg_signature", "timestamp", "nonce", "echostr")})
        replayed_verification = httpx.get(f"{base_url}/wecom/callback?{verify_query}", timeout=10)
        assert app.state.wecom_service.wait_until_idle(30)
        # A callback signed just now still goes through, so the refusal is about age, not the keys.
        crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
        fresh = WeComCallbackClient(base_url, crypto).post_text("ChenJiaShun", "你好", msg_id="1456453720")
        api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    assert (replayed.status_code, replayed.text) == (403, STALE_CALLBACK_ANSWER)
    assert replayed_verification.status_code == 403
    assert verify["expected_echo_plaintext"] not in replayed_verification.text
    # The stale delivery left no dedupe claim: the fresh one with the same MsgId was answered.
    assert fresh.status_code == 200
    assert [turn.text for turn in agent.turns] == ["你好"]


def test_callback_signed_ten_minutes_ago_is_refused(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    plaintext = text_message_xml(OFFICIAL["corp_id"], "zhang.wei", "报价多少？", "8800001")
    with server as base_url:
        responses = []
        for offset_s in (-600, 600):
            envelope = crypto.encrypt(plaintext, nonce=f"n{offset_s}", timestamp=str(int(time.time()) + offset_s))
            query = urlencode({"msg_signature": envelope.msg_signature, "timestamp": envelope.timestamp,
                               "nonce": envelope.nonce})
            responses.append(httpx.post(f"{base_url}/wecom/callback?{query}",
                                        content=envelope.to_callback_xml(OFFICIAL["corp_id"]).encode("utf-8"),
                                        timeout=10))
        assert app.state.wecom_service.wait_until_idle(30)
    assert [response.status_code for response in responses] == [403, 403]
    assert agent.turns == [] and api_stub.sent_messages() == []


def test_wrong_signature_is_rejected_and_nothing_is_processed(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    with server as base_url:
        client = WeComCallbackClient(base_url, crypto)
        response = client.post_text("zhang.wei", "华东人民医院的质保期？", msg_id="9001", tamper_signature=True)
        assert app.state.wecom_service.wait_until_idle(30)
        # Same message signed correctly afterwards: proves the forged one left no dedupe record behind.
        accepted = client.post_text("zhang.wei", "华东人民医院的质保期？", msg_id="9001")
        api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    assert response.status_code == 403
    assert "华东" not in response.text
    assert accepted.status_code == 200
    assert len(agent.turns) == 1
    assert len(api_stub.sent_messages()) == 1


def test_message_encrypted_for_another_corp_is_rejected(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    _app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    foreign = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], "ww-another-corp")
    with server as base_url:
        response = WeComCallbackClient(base_url, foreign).post_text("mallory", "hi", msg_id="1")
    assert response.status_code == 403
    assert agent.turns == [] and api_stub.calls == []


def test_redelivered_msgid_is_answered_once_even_after_a_restart(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    settings = settings_for("tencent_xml", api_stub.base_url)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    app, server = serve(settings, agent)
    with server as base_url:
        client = WeComCallbackClient(base_url, crypto)
        statuses = [client.post_text("zhang.wei", "报价多少？", msg_id="7700001").status_code for _ in range(3)]
        api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    restarted_app, restarted_server = serve(settings, agent)
    with restarted_server as base_url:
        statuses.append(WeComCallbackClient(base_url, crypto).post_text("zhang.wei", "报价多少？", msg_id="7700001")
                        .status_code)
        assert restarted_app.state.wecom_service.wait_until_idle(30)
    assert statuses == [200, 200, 200, 200]  # WeCom must not keep retrying a redelivery
    assert len(agent.turns) == 1
    assert len(api_stub.sent_messages()) == 1


@pytest.mark.slow
def test_callback_answers_before_a_slow_agent_finishes(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent(delay_s=7.0)  # longer than WeCom's 5-second deadline
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    with server as base_url:
        response = WeComCallbackClient(base_url, crypto).post_text("zhang.wei", "分析一下华东区的赢单率", msg_id="5")
        agent.record("http_response_received")
        messages = api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    assert response.status_code == 200
    assert agent.events.index("http_response_received") < agent.events.index("agent_finished")
    assert [message["markdown"]["content"] for message in messages] == ["这是回答"]


def write_png(path: Path) -> Path:
    """A valid 1×1 PNG (what the agent's chart renderer produces, in miniature)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
                     + chunk(b"IEND", b""))
    return path


def test_chart_is_uploaded_and_sent_as_an_image_after_the_text(api_stub: WeComApiStub, tmp_path: Path) -> None:
    chart = write_png(tmp_path / "chart.png")
    agent = ScriptedAgent(TurnResult(answer="各区域赢单率如下", language="zh", route="data", chart=str(chart)))
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    with server as base_url:
        WeComCallbackClient(base_url, crypto).post_text("liu.yang", "各区域赢单率？", msg_id="31")
        messages = api_stub.wait_for_messages(2)
        assert app.state.wecom_service.wait_until_idle(30)
    (upload,) = api_stub.calls_to("/media/upload")
    assert upload.query["type"] == "image" and b'filename="chart.png"' in upload.raw_body
    assert [message["msgtype"] for message in messages] == ["markdown", "image"]
    assert messages[1]["image"]["media_id"] == "stub-media-1"


def test_pending_action_card_click_decides_and_updates_the_card(api_stub: WeComApiStub) -> None:
    proposal = TurnResult(answer="我可以为您创建回访任务。", language="zh", route="task",
                          pending_actions=[action_view(id="A7K2Q", kind="create_task", summary="Follow up",
                                                       summary_zh="下周三回访华东人民医院")])
    agent = ScriptedAgent(proposal)
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    with server as base_url:
        client = WeComCallbackClient(base_url, crypto)
        client.post_text("zhang.wei", "给华东人民医院下周三安排一次回访", msg_id="41")
        markdown, card = api_stub.wait_for_messages(2)
        button_keys = [button["key"] for button in card["template_card"]["button_list"]]
        click = card_event_xml(OFFICIAL["corp_id"], "zhang.wei", button_keys[0], card["template_card"]["task_id"],
                               response_code="rc-41", create_time=1700000041)
        assert client.post_plaintext_xml(click).status_code == 200
        assert client.post_plaintext_xml(click).status_code == 200  # WeCom retry of the same click
        api_stub.wait_for_messages(3)
        assert app.state.wecom_service.wait_until_idle(30)
    assert "确认 A7K2Q" in markdown["markdown"]["content"] and "下周三回访华东人民医院" in markdown["markdown"]["content"]
    assert card["msgtype"] == "template_card" and button_keys == ["approve:A7K2Q:zh", "reject:A7K2Q:zh"]
    assert agent.decisions == [("A7K2Q", "approve", "zhang.wei", "rep", None)]
    assert agent.languages == ["zh"]
    (update,) = api_stub.calls_to("/message/update_template_card")
    assert update.json_body is not None and update.json_body["response_code"] == "rc-41"
    assert api_stub.sent_markdown()[-1] == "approve A7K2Q done"


def test_image_message_whose_media_cannot_be_fetched_gets_a_clear_line(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    image_xml = (f"<xml><ToUserName>{OFFICIAL['corp_id']}</ToUserName><FromUserName>zhang.wei</FromUserName>"
                 "<CreateTime>1</CreateTime><MsgType>image</MsgType><PicUrl>http://x/y.png</PicUrl>"
                 "<MediaId>m1</MediaId><MsgId>51</MsgId><AgentID>1000002</AgentID></xml>")
    with server as base_url:
        assert WeComCallbackClient(base_url, crypto).post_plaintext_xml(image_xml).status_code == 200
        api_stub.wait_for_messages(1)
        assert app.state.wecom_service.wait_until_idle(30)
    assert agent.turns == []  # the stub has no media m1: the user hears so, nothing is coached
    assert api_stub.calls_to("/media/get") and "文件无法下载" in api_stub.sent_markdown()[0]


def test_oversized_body_is_refused_before_decrypting(api_stub: WeComApiStub) -> None:
    agent = ScriptedAgent()
    _app, server = serve(settings_for("tencent_xml", api_stub.base_url), agent)
    with server as base_url:
        response = httpx.post(f"{base_url}/wecom/callback?msg_signature=a&timestamp=1&nonce=2",
                              content=b"<xml>" + b"x" * 1_100_000 + b"</xml>", timeout=10)
    assert response.status_code == 413
    assert agent.turns == [] and api_stub.calls == []


def test_roles_file_in_settings_sets_the_role_and_routes_approvals_to_managers(
    api_stub: WeComApiStub, tmp_path: Path
) -> None:
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("users:\n  liu.yang: manager\n  zhang.wei: rep\n", encoding="utf-8")
    settings = settings_for("tencent_xml", api_stub.base_url).model_copy(update={"roles_file": roles_file})
    quote = action_view(id="Q3M8D", kind="submit_quote_for_approval", summary="Quote 20 × X200 to Northwind",
                        summary_zh="提交北风制造报价审批", proposer="zhang.wei", proposer_role="rep",
                        required_approver="manager")
    agent = ScriptedAgent(TurnResult(answer="已提交审批", language="zh", pending_actions=[quote]))
    app = create_wecom_app(settings, answer_turn=agent.answer_turn, decide_action=agent.decide_action)
    crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
    with serve_asgi_app_in_thread(app) as base_url:
        client = WeComCallbackClient(base_url, crypto)
        client.post_text("zhang.wei", "给北风制造报价 20 台 X200", msg_id="61")
        client.post_text("liu.yang", "确认 Q3M8D", msg_id="62")
        api_stub.wait_for_messages(4)
        assert app.state.wecom_service.wait_until_idle(30)
    assert [turn.role for turn in agent.turns] == ["rep"]
    assert agent.decisions == [("Q3M8D", "approve", "liu.yang", "manager", None)]
    to_manager = [message for message in api_stub.sent_messages() if message["touser"] == "liu.yang"]
    assert any("确认 Q3M8D" in message.get("markdown", {}).get("content", "") for message in to_manager)
    assert any(message["msgtype"] == "template_card" for message in to_manager)
