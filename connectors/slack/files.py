"""Download a file shared with the bot: files.info, a size cap, and the bot token sent to Slack's own hosts only."""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import quote, urlparse

from slack_sdk import WebClient

from connectors.slack.context import SLACK_HTTP_TIMEOUT_SECONDS
from salesbot.errors import UserFacingError
from tools.coach.inputs import MAX_INPUT_BYTES

# Where Slack serves private file downloads when the configured API host is Slack's own.
SLACK_FILE_HOSTS = frozenset({"slack.com", "files.slack.com", "slack-files.com"})
# What stays as it is when a download link is made ASCII: URL syntax and existing %-escapes.
URL_SAFE_CHARACTERS = ":/?#[]@!$&'()*+,;=%~"


class SlackFileRefused(UserFacingError):
    """A shared file the connector will not (or could not) download; the message is safe for chat."""


def allowed_download_hosts(api_base_url: str) -> frozenset[str]:
    """The configured Slack API host, plus Slack's file hosts when that host is slack.com itself."""
    api_host = (urlparse(api_base_url).hostname or "").lower()
    return frozenset({api_host} | (SLACK_FILE_HOSTS if api_host == "slack.com" or api_host.endswith(".slack.com") else set()))


def file_metadata(client: WebClient, shared: dict[str, Any]) -> dict[str, Any]:
    """The file object with its download URL and size: from the event when complete, else from files.info."""
    if shared.get("url_private_download") and shared.get("size") is not None and shared.get("name"):
        return shared
    info = client.files_info(file=shared["id"])
    return dict(info.get("file") or {})


def download_shared_file(client: WebClient, metadata: dict[str, Any]) -> bytes:
    """The file's bytes, at most MAX_INPUT_BYTES; SlackFileRefused for a foreign host, a big file or a failure."""
    name = str(metadata.get("name") or "file")
    # The link ends with the file's name; a name such as 微信聊天.png must be %-escaped before it is requested.
    url = quote(str(metadata.get("url_private_download") or metadata.get("url_private") or ""),
                safe=URL_SAFE_CHARACTERS)
    parsed = urlparse(url)
    # The bot token opens every file of the workspace: it goes to the configured Slack host and nowhere else.
    if parsed.scheme not in ("https", "http") or (parsed.hostname or "").lower() not in allowed_download_hosts(
            client.base_url):
        raise SlackFileRefused(f"{name}: its download link is not on the Slack host; not downloaded / 下载地址不可信")
    if int(metadata.get("size") or 0) > MAX_INPUT_BYTES:
        raise SlackFileRefused(f"{name} is larger than {MAX_INPUT_BYTES // 1_000_000} MB / 文件过大")
    request = urllib.request.Request(url, method="GET")
    # Unredirected: a redirect to another host does not carry the token along.
    request.add_unredirected_header("Authorization", f"Bearer {client.token}")
    try:
        with urllib.request.urlopen(request, timeout=SLACK_HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - checked
            raw: bytes = response.read(MAX_INPUT_BYTES + 1)
    except OSError as error:
        raise SlackFileRefused(f"{name} could not be downloaded from Slack / 文件下载失败") from error
    if len(raw) > MAX_INPUT_BYTES:
        raise SlackFileRefused(f"{name} is larger than {MAX_INPUT_BYTES // 1_000_000} MB / 文件过大")
    return raw
