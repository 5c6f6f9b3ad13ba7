"""Real `salesbot serve wecom` child processes on 127.0.0.1 and a sender that encrypts and signs like WeCom.

The processes talk to a WeComApiStub (tests/stubs/wecom_api.py) through SALESBOT_WECOM_API_URL and share the
official tencent_xml callback keys (tests/data/wecom/wecom_crypto_vectors.json; its corp id is the stub's). Every
delivery is encrypted and signed with the real wechatpy crypto just before it is sent, with a fresh nonce, as
WeCom does for each retry. Starting, stopping and the concurrent sender are tests/stubs/serve_processes.py's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from connectors.wecom.crypto import WeComCrypto
from tests.stubs.serve_processes import HttpPost, ServeProcess, post_concurrently
from tests.stubs.serve_processes import start_processes as start_serve_processes
from tests.stubs.wecom_api import STUB_AGENT_ID, WeComApiStub, text_message_xml, wecom_app_settings

VECTORS_FILE = Path(__file__).resolve().parents[1] / "data" / "wecom" / "wecom_crypto_vectors.json"
CALLBACK_KEYS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["tencent_xml"]


class WeComServeProcess(ServeProcess):
    """One `salesbot serve wecom --port N` child."""

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/wecom/callback"


def start_processes(count: int, api_stub: WeComApiStub, roles_file: Path,
                    env: dict[str, str] | None = None) -> list[WeComServeProcess]:
    """Start `count` processes at once on this test's database (they create the schema concurrently)."""
    settings = wecom_app_settings(api_stub, CALLBACK_KEYS, roles_file)
    return start_serve_processes(count, lambda: WeComServeProcess.start("wecom", settings, env))


def callback_crypto() -> WeComCrypto:
    """WeCom's side of the callback keys the processes were given."""
    return WeComCrypto(CALLBACK_KEYS["token"], CALLBACK_KEYS["encoding_aes_key"], CALLBACK_KEYS["corp_id"])


@dataclass(frozen=True)
class WeComDelivery:
    """One callback delivery: the decrypted message XML, and which process's callback URL gets it."""

    url: str
    plaintext_xml: str


def encrypted_post(crypto: WeComCrypto, delivery: WeComDelivery) -> HttpPost:
    """The delivery as WeCom posts it, encrypted and signed now: <Encrypt> body, signature in the query."""
    envelope = crypto.encrypt(delivery.plaintext_xml, nonce=f"{time.time_ns()}")
    query = urlencode({"msg_signature": envelope.msg_signature, "timestamp": envelope.timestamp,
                       "nonce": envelope.nonce})
    body = envelope.to_callback_xml(crypto.corp_id, STUB_AGENT_ID)
    return HttpPost(f"{delivery.url}?{query}", body.encode("utf-8"), {"Content-Type": "text/xml"})


def send_deliveries(deliveries: list[WeComDelivery], concurrency: int = 50,
                    timeout_s: float = 60.0) -> list[tuple[int | str, float]]:
    """Send every delivery (at most `concurrency` in flight), each encrypted just before it goes out.
    Returns (HTTP status or an error text, response seconds) per delivery, in order."""
    crypto = callback_crypto()
    return post_concurrently(deliveries, lambda delivery: encrypted_post(crypto, delivery), concurrency, timeout_s)


def text_deliveries(urls: list[str], messages: int, redeliveries: int, users: list[str], questions: list[str],
                    first_msg_id: int) -> list[WeComDelivery]:
    """`messages` text messages (MsgIds from first_msg_id, user i from users[i]) round-robin over `urls`, plus
    `redeliveries` of the first messages — WeCom's retry of the same MsgId and CreateTime — each sent to the
    *other* process than its first delivery."""
    created = int(time.time())
    deliveries = [WeComDelivery(urls[number % len(urls)],
                                text_message_xml(CALLBACK_KEYS["corp_id"], users[number],
                                                 questions[number % len(questions)], str(first_msg_id + number),
                                                 create_time=created))
                  for number in range(messages)]
    for number in range(redeliveries):
        first = deliveries[number % messages]
        deliveries.append(WeComDelivery(urls[(urls.index(first.url) + 1) % len(urls)], first.plaintext_xml))
    return deliveries
