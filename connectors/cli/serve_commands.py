"""`salesbot serve slack|wecom|mcp`: run a chat connector's HTTP server, or the MCP server."""

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

    @serve.command("mcp")
    def serve_mcp(
        port: int = typer.Option(8765, help="HTTP port for the Streamable HTTP endpoint /mcp."),
        host: str = typer.Option("127.0.0.1", help="Interface to listen on (put TLS in front of anything public)."),
        stdio: bool = typer.Option(False, "--stdio", help="Serve over stdin/stdout for a local desktop client; "
                                   "the caller is the token in SALESBOT_MCP_TOKEN."),
    ) -> None:
        """Serve salesbot as an MCP server: bearer token per request, role filter as in chat, writes only proposed."""
        import os

        from connectors.mcp.server import run_mcp
        from salesbot.errors import UserFacingError

        try:
            run_mcp(port=port, host=host, stdio=stdio, token=os.environ.get("SALESBOT_MCP_TOKEN"))
        except UserFacingError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None

    app.add_typer(serve, name="serve")
