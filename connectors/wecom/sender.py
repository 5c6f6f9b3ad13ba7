"""Send replies through the WeCom app message API (wechatpy.enterprise WeChatClient, configurable base URL)."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import requests
from wechatpy.constants import WeChatErrorCode
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from connectors.wecom.card_buttons import card_button_key
from connectors.wecom.models import ActionCard, RenderedReply

logger = logging.getLogger(__name__)

DEFAULT_HTTP_TIMEOUT_S = 10.0

# The errcodes after which wechatpy's client fetches a new access token and repeats the call
# (BaseWeChatClient._handle_result): the token expired (42001), is not valid (40014), or was refused (40001).
ACCESS_TOKEN_ERRCODES = frozenset({WeChatErrorCode.EXPIRED_ACCESS_TOKEN.value,
                                   WeChatErrorCode.INVALID_ACCESS_TOKEN.value,
                                   WeChatErrorCode.INVALID_CREDENTIAL.value})


class WeComSendError(RuntimeError):
    """The message API refused or could not be reached; details are logged, users see nothing from it."""


class TimeoutSession(requests.Session):
    """A requests session that puts a timeout on every call.

    wechatpy passes its client timeout to API calls but not to the gettoken request, so the default lives here.
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().request(*args, **kwargs)


class ConfigurableWeComClient(WeChatClient):
    """wechatpy's WeCom client with the API base URL from settings (a proxy, or the test stub)."""

    def __init__(self, corp_id: str, secret: str, api_base_url: str, session: SessionStorage | None = None,
                 timeout_s: float = DEFAULT_HTTP_TIMEOUT_S) -> None:
        super().__init__(corp_id, secret, session=session, timeout=timeout_s)
        self.API_BASE_URL = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self._http = TimeoutSession(timeout_s)

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy 1.8 hard-codes https://qyapi.weixin.qq.com here; use the configured base instead.
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )


class WeComSender:
    """Delivers rendered replies to one WeCom user: Markdown chunks, chart images, action cards."""

    def __init__(self, client: ConfigurableWeComClient, agent_id: str) -> None:
        self.client = client
        self.agent_id = _agent_id_for_api(agent_id)
        # requests.Session and the token refresh are not meant for concurrent use; replies are few and small.
        self._lock = threading.Lock()

    def deliver(self, user_id: str, reply: RenderedReply) -> None:
        """Send every part of a reply in order; a failed image or card does not stop the text."""
        for chunk in reply.markdown_chunks:
            self.send_markdown(user_id, chunk)
        for image_path in reply.image_paths:
            try:
                self.send_image(user_id, Path(image_path))
            except (OSError, WeComSendError):
                logger.exception("could not send chart %s to %s", image_path, user_id)
        for card in reply.action_cards:
            try:
                self.send_action_card(user_id, card)
            except WeComSendError:
                logger.exception("could not send the action card for %s", card.action_id)

    def send_markdown(self, user_id: str, content: str) -> dict[str, Any]:
        return self._call("send markdown", lambda: self.client.message.send_markdown(self.agent_id, user_id, content))

    def send_image(self, user_id: str, image_path: Path) -> dict[str, Any]:
        """Upload a PNG as temporary media, then send it as an image message."""
        with open(image_path, "rb") as image_file:
            uploaded = self._call("upload image", lambda: self.client.media.upload("image", image_file))
        media_id = uploaded.get("media_id") if isinstance(uploaded, dict) else None
        if not media_id:
            raise WeComSendError(f"media upload returned no media_id: {uploaded!r}")
        return self._call("send image", lambda: self.client.message.send_image(self.agent_id, user_id, media_id))

    def send_action_card(self, user_id: str, card: ActionCard) -> str:
        """A button_interaction template card; the click comes back as a template_card_event."""
        task_id = f"salesbot-{card.action_id}-{int(time.time() * 1000)}"[:128]
        approve_text, reject_text = ("确认", "取消") if card.language == "zh" else ("Approve", "Reject")
        template_card = {
            "card_type": "button_interaction",
            "main_title": {"title": card.title[:36], "desc": card.description[:44]},
            "sub_title_text": card.description,
            "task_id": task_id,
            "button_list": [
                {"text": approve_text, "style": 1, "key": card_button_key("approve", card.action_id, card.language)},
                {"text": reject_text, "style": 2, "key": card_button_key("reject", card.action_id, card.language)},
            ],
        }
        self._call(
            "send template card",
            lambda: self.client.message.send(
                self.agent_id, user_id, msg={"msgtype": "template_card", "template_card": template_card}
            ),
        )
        return task_id

    def mark_card_decided(self, user_id: str, response_code: str, label: str) -> None:
        """Replace a clicked card's buttons with the outcome (WeCom's update_template_card)."""
        if not response_code:
            return
        payload = {"userids": [user_id], "agentid": self.agent_id, "response_code": response_code,
                   "button": {"replace_name": label}}
        self._call("update template card", lambda: self.client.post("message/update_template_card", data=payload))

    def download_media(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A temporary media file (media/get) and its file name; WeComSendError when absent or over max_bytes.

        wechatpy's own media.download would read the whole body before any size check, and its token retry
        repeats without bound; so the file is streamed here, and on a token errcode the token is refreshed the way
        wechatpy's client does (fetch_access_token into its session storage) and the download tried once more.
        """
        with self._lock:
            try:
                response = self._get_media(media_id)
                errcode = _errcode(response)
                if errcode in ACCESS_TOKEN_ERRCODES:
                    response.close()
                    logger.info("media/get: access token refused (errcode %s); fetching a new one and retrying once",
                                errcode)
                    self.client.fetch_access_token()
                    response = self._get_media(media_id)
                with response:
                    if "json" in response.headers.get("Content-Type", "") or response.status_code != 200:
                        raise WeComSendError(f"media/get refused {media_id}: {response.text[:200]}")
                    if int(response.headers.get("Content-Length") or 0) > max_bytes:
                        raise WeComSendError(f"media {media_id} is over {max_bytes} bytes")
                    raw = response.raw.read(max_bytes + 1, decode_content=True)
                    disposition = response.headers.get("Content-Disposition", "")
                    content_type = response.headers.get("Content-Type", "")
            except (WeChatClientException, requests.RequestException) as error:
                raise WeComSendError(f"WeCom API call failed (media/get): {error}") from error
        if len(raw) > max_bytes:
            raise WeComSendError(f"media {media_id} is over {max_bytes} bytes")
        return raw, _file_name(disposition, content_type)

    def _get_media(self, media_id: str) -> requests.Response:
        # The access token goes to the configured WeCom API host only (the URL is built from it here).
        return self.client._http.get(f"{self.client.API_BASE_URL}media/get", stream=True, params={
            "access_token": self.client.access_token, "media_id": media_id})

    def _call(self, what: str, request: Any) -> Any:
        with self._lock:
            try:
                return request()
            except (WeChatClientException, requests.RequestException) as error:
                raise WeComSendError(f"WeCom API call failed ({what}): {error}") from error


def build_sender(settings: Any, session: SessionStorage | None = None,
                 timeout_s: float = DEFAULT_HTTP_TIMEOUT_S) -> WeComSender:
    """The sender for the configured corp, app secret, agent id and API base URL."""
    client = ConfigurableWeComClient(
        settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_url, session=session, timeout_s=timeout_s
    )
    return WeComSender(client, settings.wecom_agent_id)


def _agent_id_for_api(agent_id: str) -> int | str:
    # The message API wants the AgentID as an integer; keep odd values as typed so the API's error names them.
    return int(agent_id) if str(agent_id).strip().isdigit() else agent_id


def _errcode(response: requests.Response) -> int | None:
    """The errcode of a JSON error answer (WeCom answers media/get with JSON instead of the file); None for a file."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return int(response.json().get("errcode"))
    except (ValueError, TypeError, AttributeError):
        return None


def _file_name(disposition: str, content_type: str) -> str:
    """The name in Content-Disposition (filename="call.txt"), else one from the image type."""
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition)
    if match:
        return Path(unquote(match.group(1))).name
    return "screenshot.jpg" if "jpeg" in content_type or "jpg" in content_type else "screenshot.png"
