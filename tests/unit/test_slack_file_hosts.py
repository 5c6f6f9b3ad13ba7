"""The bot token travels only to the configured Slack host (and Slack's own file hosts when that is slack.com)."""

from __future__ import annotations

from connectors.common.coach import coach_file_problem
from connectors.slack.files import allowed_download_hosts


def test_download_hosts_follow_the_configured_api_url() -> None:
    assert "files.slack.com" in allowed_download_hosts("https://slack.com/api/")
    assert allowed_download_hosts("http://127.0.0.1:8123/api/") == frozenset({"127.0.0.1"})
    assert "files.slack.com" not in allowed_download_hosts("https://slack-proxy.example.com/api/")
    assert "files.slack.com" not in allowed_download_hosts("https://evilslack.com/api/")


def test_coach_file_problem_names_the_file_and_the_reason() -> None:
    assert coach_file_problem("call.vtt", 10) is None
    assert "deck.pptx" in (coach_file_problem("deck.pptx", 10) or "")
    assert "文件过大" in (coach_file_problem("call.txt", 50_000_000) or "")
