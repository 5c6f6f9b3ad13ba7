"""`salesbot serve slack|wecom`: run a chat connector's HTTP server."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    serve = typer.Typer(help="Run a chat connector server.", no_args_is_help=True)

    @serve.command("slack")
    def serve_slack(
        port: int = typer.Option(3000, help="HTTP port for /slack/events."),
        socket: bool = typer.Option(False, "--socket", help="Use Socket Mode (needs SALESBOT_SLACK_APP_TOKEN)."),
    ) -> None:
        """Serve Slack events (HTTP mode at /slack/events, or Socket Mode)."""
        from connectors.slack.server import run_slack

        run_slack(port=port, socket_mode=socket)

    @serve.command("wecom")
    def serve_wecom(port: int = typer.Option(8080, help="HTTP port for /wecom/callback.")) -> None:
        """Serve WeCom (企业微信) encrypted callbacks at /wecom/callback."""
        from connectors.wecom.server import run_wecom

        run_wecom(port=port)

    app.add_typer(serve, name="serve")
