"""Posting through a response_url (slash commands, ephemeral buttons): only the user who asked sees the message.

Slack takes at most five posts per response_url within 30 minutes; a post with replace_original replaces the
message the same response_url posted before, which is how a slash command's answer can be shown as it forms.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.webhook import WebhookClient

# Seconds for every Web API / response_url call the connector makes (Slack answers in well under one).
SLACK_HTTP_TIMEOUT_SECONDS = 10
# Posts Slack accepts through one response_url (within 30 minutes).
RESPONSE_URL_POSTS = 5


def send_ephemeral(response_url: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
                   replace_original: bool = False) -> None:
    """One ephemeral post (replacing the previous one when replace_original); RuntimeError when Slack refuses."""
    response = WebhookClient(response_url, timeout=SLACK_HTTP_TIMEOUT_SECONDS).send(
        text=text, blocks=blocks, response_type="ephemeral", replace_original=replace_original
    )
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered {response.status_code}: {response.body}")
