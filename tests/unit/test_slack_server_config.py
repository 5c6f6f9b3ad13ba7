"""Configuration errors of `salesbot serve slack` are clear and name the variable to set."""

from __future__ import annotations

import pytest

from connectors.slack.app import SlackConfigError, build_slack_app, build_web_client
from connectors.slack.server import build_socket_mode_handler, run_slack
from salesbot.settings import Settings, get_settings


def test_socket_mode_without_an_app_token_names_the_variable() -> None:
    with pytest.raises(SlackConfigError, match="SALESBOT_SLACK_APP_TOKEN"):
        build_socket_mode_handler(Settings(slack_bot_token="xoxb-1", slack_app_token=""))


def test_socket_mode_with_a_bot_token_in_place_of_the_app_token_is_explained() -> None:
    with pytest.raises(SlackConfigError, match="xapp-"):
        build_socket_mode_handler(Settings(slack_bot_token="xoxb-1", slack_app_token="xoxb-1"))


def test_serve_socket_without_app_token_exits_with_the_message_not_a_traceback(monkeypatch) -> None:
    monkeypatch.setenv("SALESBOT_SLACK_BOT_TOKEN", "xoxb-1")
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exit_info:
        run_slack(port=0, socket_mode=True)
    assert "SALESBOT_SLACK_APP_TOKEN" in str(exit_info.value.code)


def test_http_mode_needs_the_signing_secret() -> None:
    with pytest.raises(SlackConfigError, match="SALESBOT_SLACK_SIGNING_SECRET"):
        build_slack_app(settings=Settings(slack_bot_token="xoxb-1"))


def test_missing_bot_token_is_named() -> None:
    with pytest.raises(SlackConfigError, match="SALESBOT_SLACK_BOT_TOKEN"):
        build_web_client(Settings(slack_signing_secret="s"))


def test_web_client_uses_the_configured_api_url_with_a_timeout(monkeypatch) -> None:
    monkeypatch.setenv("SALESBOT_SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("SALESBOT_SLACK_BOT_TOKEN", "xoxb-configured")
    get_settings.cache_clear()
    client = build_web_client(get_settings())
    assert (client.base_url, client.token) == ("http://127.0.0.1:9/api/", "xoxb-configured")
    assert 0 < client.timeout <= 30


def test_app_manifest_subscribes_to_what_the_handlers_serve() -> None:
    from pathlib import Path

    import yaml

    import connectors.slack
    from connectors.slack.models import SLASH_COMMAND
    from connectors.slack.server import SLACK_EVENTS_PATH

    manifest = yaml.safe_load((Path(connectors.slack.__file__).parent / "manifest.yaml").read_text(encoding="utf-8"))
    settings = manifest["settings"]
    # Channel messages: a file shared in a thread the bot replies in is coached (handle_file_share).
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im", "message.channels",
                                                                  "message.groups"}
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND
    for url in (command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]):
        assert url.endswith(SLACK_EVENTS_PATH)
    assert {"chat:write", "files:read", "files:write", "im:write", "commands", "channels:history",
            "groups:history"} <= set(manifest["oauth_config"]["scopes"]["bot"])
