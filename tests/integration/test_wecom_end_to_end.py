"""End to end with the REAL agent service and the sample knowledge base: WeCom callback → agent → stub API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from connectors.wecom.app import create_wecom_app
from connectors.wecom.crypto import WeComCrypto
from salesbot.settings import SAMPLES_DIR, get_settings, reset_runtime
from tests.stubs.wecom_api import (
    WeComApiStub,
    WeComCallbackClient,
    serve_asgi_app_in_thread,
    wecom_app_settings,
)

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wecom" / "wecom_crypto_vectors.json")
                     .read_text(encoding="utf-8"))
OFFICIAL = VECTORS["tencent_xml"]
REPLY_TIMEOUT_S = 240.0  # a bound on waiting for the asynchronous reply, not a speed requirement


@pytest.fixture
def wecom_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WeComApiStub, WeComCallbackClient]]:
    """Sample knowledge ingested, roles configured, the connector served with the real agent service."""
    from knowledge.ingest import ingest_paths

    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text("users:\n  zhang.wei: rep\n  li.na: rep\n  liu.yang: manager\n", encoding="utf-8")
    with WeComApiStub() as api_stub:
        for name, value in wecom_app_settings(api_stub, OFFICIAL, roles_file).items():
            monkeypatch.setenv(name, value)
        reset_runtime()
        report = ingest_paths([SAMPLES_DIR])
        assert report.count("ingested") > 0
        app = create_wecom_app(get_settings())  # the real agent.service entry points
        with serve_asgi_app_in_thread(app) as base_url:
            crypto = WeComCrypto(OFFICIAL["token"], OFFICIAL["encoding_aes_key"], OFFICIAL["corp_id"])
            yield api_stub, WeComCallbackClient(base_url, crypto)
            assert app.state.wecom_service.wait_until_idle(REPLY_TIMEOUT_S)


def count_tasks() -> int:
    from tools.db.tables import Task, sales_session

    with sales_session() as session:
        return len(session.exec(select(Task)).all())


@pytest.mark.slow
def test_encrypted_question_is_answered_with_sources_through_the_api(
    wecom_world: tuple[WeComApiStub, WeComCallbackClient],
) -> None:
    api_stub, client = wecom_world
    assert client.post_text("zhang.wei", "华东人民医院合同的设备质保期是多久？", msg_id="880001").status_code == 200
    (message,) = api_stub.wait_for_messages(1, timeout_s=REPLY_TIMEOUT_S)
    assert message["touser"] == "zhang.wei" and message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert "24个月" in content
    assert "**来源**" in content and "contract_huadong_x3_2025.md" in content
    assert "抱歉" not in content


def propose_follow_up(api_stub: WeComApiStub, client: WeComCallbackClient, msg_id: str) -> str:
    """Ask for a follow-up as zhang.wei; returns the action id the reply tells him to confirm."""
    assert client.post_text("zhang.wei", "给华东人民医院下周三安排一次回访", msg_id=msg_id).status_code == 200
    proposal = wait_for_markdown_to(api_stub, "zhang.wei", 1)[0]
    match = re.search(r"「确认 ([A-Za-z0-9_-]+)」", proposal)
    assert match, proposal
    return match.group(1)


@pytest.mark.slow
def test_confirmation_in_chat_creates_exactly_one_task(wecom_world: tuple[WeComApiStub, WeComCallbackClient]) -> None:
    api_stub, client = wecom_world
    action_id = propose_follow_up(api_stub, client, "880101")
    assert count_tasks() == 0  # proposing writes nothing

    client.post_text("zhang.wei", f"确认 {action_id}", msg_id="880102")
    confirmed = wait_for_markdown_to(api_stub, "zhang.wei", 2)[-1]
    assert action_id in confirmed and "已执行" in confirmed
    assert count_tasks() == 1

    client.post_text("zhang.wei", f"确认 {action_id}", msg_id="880103")  # confirming again writes nothing more
    again = wait_for_markdown_to(api_stub, "zhang.wei", 3)[-1]
    assert action_id in again
    assert count_tasks() == 1


@pytest.mark.slow
def test_another_reps_refused_confirmation_does_not_block_the_proposer(
    wecom_world: tuple[WeComApiStub, WeComCallbackClient],
) -> None:
    api_stub, client = wecom_world
    action_id = propose_follow_up(api_stub, client, "880201")

    client.post_text("li.na", f"确认 {action_id}", msg_id="880202")
    refusal = wait_for_markdown_to(api_stub, "li.na", 1)[-1]
    assert action_id in refusal and "Traceback" not in refusal
    assert count_tasks() == 0

    client.post_text("zhang.wei", f"确认 {action_id}", msg_id="880203")
    confirmed = wait_for_markdown_to(api_stub, "zhang.wei", 2)[-1]
    assert "已执行" in confirmed, confirmed
    assert count_tasks() == 1


def wait_for_markdown_to(api_stub: WeComApiStub, user_id: str, count: int) -> list[str]:
    """Markdown texts sent to one user, once at least `count` of them arrived (cards are left out)."""
    texts = api_stub.wait_for_markdown_to(user_id, count, REPLY_TIMEOUT_S)
    assert len(texts) >= count, f"expected {count} replies to {user_id}, got {texts}"
    return texts
