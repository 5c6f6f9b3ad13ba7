"""`salesbot serve mcp`: the MCP server (Streamable HTTP at /mcp with bearer tokens, or stdio) and its tools."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from connectors.mcp import tools
from connectors.mcp.auth import CALLER_STATE_KEY, BearerTokenMiddleware, caller_for_token
from connectors.mcp.models import McpCaller
from connectors.mcp.rate_limit import RateLimiter
from salesbot.errors import UserFacingError

logger = logging.getLogger(__name__)

FRIENDLY_FAILURE = "Something went wrong on the salesbot server; the details are in its log. Please try again."

# Hints per tool. Proposals write a pending row (not read-only) but never destroy or execute anything.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
ASKS_AGENT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                             open_world_hint=False)
PROPOSES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)


class McpServerError(UserFacingError):
    """The MCP server cannot start as configured."""


def _audit(caller: McpCaller, event: str, tool_name: str) -> None:
    from tools.db.tables import AuditEvent, sales_session

    try:
        with sales_session() as session:
            session.add(AuditEvent(actor=caller.user_id, actor_role=caller.role, event=event, kind=tool_name,
                                   detail={"channel": "mcp", "token": caller.token_label}))
            session.commit()
    except Exception:  # the audit row must not turn a refusal into a crash; the log keeps the reason
        logger.exception("could not write the MCP audit event %s", event)


def build_server(*, stdio_caller: McpCaller | None = None, rate_limiter: RateLimiter | None = None) -> MCPServer:
    """The MCP server with salesbot's tools; over HTTP the caller comes from the bearer token, on stdio it is fixed."""
    from salesbot.settings import get_settings

    limiter = rate_limiter or RateLimiter(get_settings().mcp_rate_limit_per_minute)
    server: MCPServer = MCPServer("salesbot", instructions=(
        "Sales copilot: cited answers from the company knowledge base, pricing strategies, data questions. "
        "Writes are only proposed; a person confirms them in Slack, WeCom or the CLI."))

    def caller_of(ctx: Context) -> McpCaller:
        request = ctx.request_context.request
        caller = getattr(getattr(request, "state", None), CALLER_STATE_KEY, None) if request is not None else None
        caller = caller or (stdio_caller if request is None else None)
        if not isinstance(caller, McpCaller):
            raise ToolError("Not authenticated: a valid bearer token is required.")
        return caller

    async def run(ctx: Context, tool_name: str, body: Callable[..., Any], *args: Any) -> Any:
        caller = caller_of(ctx)
        if not limiter.allow(caller.token_label):
            await anyio.to_thread.run_sync(_audit, caller, "mcp_rate_limited", tool_name)
            raise ToolError(f"Rate limit reached ({limiter.per_minute} calls a minute for this token); "
                            "try again in a minute.")
        await anyio.to_thread.run_sync(_audit, caller, "mcp_call", tool_name)
        try:
            return await anyio.to_thread.run_sync(functools.partial(body, caller, *args))
        except UserFacingError as error:
            raise ToolError(str(error)) from None
        except ToolError:
            raise
        except Exception:  # clients never see a traceback or raw exception text
            logger.exception("MCP tool %s failed for %s", tool_name, caller.user_id)
            raise ToolError(FRIENDLY_FAILURE) from None

    @server.tool(annotations=READ_ONLY)
    async def search_knowledge(query: str, ctx: Context, k: int = 5) -> list[dict[str, Any]]:
        """Search the sales knowledge base (Chinese or English); returns passages your role may read, each with its
        source document and section to cite."""
        return await run(ctx, "search_knowledge", tools.search_knowledge, query, k)

    @server.tool(annotations=ASKS_AGENT)
    async def ask(question: str, ctx: Context, thread_id: str | None = None) -> dict[str, Any]:
        """Ask salesbot a question and get its full answer with citations (same thread_id = same conversation).
        A write it proposes stays pending until a person confirms it."""
        return await run(ctx, "ask", tools.ask, question, thread_id)

    @server.tool(annotations=READ_ONLY)
    async def propose_pricing(product: str, quantity: int, ctx: Context, customer: str | None = None,
                              competitor_price: str | None = None, customer_ask: str | None = None,
                              language: str = "en") -> dict[str, Any]:
        """Three quote strategies for a product and quantity that respect the discount policy (prices your role
        may not see are withheld). Submitting a quote is done by a person, not by this tool."""
        return await run(ctx, "propose_pricing", tools.propose_pricing, product, quantity, customer,
                         competitor_price, customer_ask, language)

    @server.tool(annotations=PROPOSES)
    async def propose_follow_up_task(customer: str, due: str, description: str, ctx: Context) -> dict[str, Any]:
        """Propose a follow-up task (call, visit, send a document) for a customer at a due time. It is only
        proposed: the result says who must confirm it and how."""
        return await run(ctx, "propose_follow_up_task", tools.propose_write, "create_follow_up_task",
                         {"customer": customer, "due": due, "description": description},
                         f"follow-up with {customer} due {due}: {description}")

    @server.tool(annotations=PROPOSES)
    async def propose_opportunity_card(customer: str, ctx: Context, product: str | None = None,
                                       stage: str | None = None, amount: str | None = None,
                                       budget: str | None = None, competitor: str | None = None,
                                       next_step: str | None = None,
                                       objections: list[str] | None = None) -> dict[str, Any]:
        """Propose a new opportunity card (customer, product, stage, amount, budget, competitor, next step,
        objections). It is only proposed: the result says who must confirm it and how."""
        args = {"customer": customer, "product": product, "stage": stage, "amount": amount, "budget": budget,
                "competitor": competitor, "next_step": next_step, "objections": objections}
        return await run(ctx, "propose_opportunity_card", tools.propose_write, "log_opportunity_card", args,
                         f"opportunity card for {customer}")

    @server.tool(annotations=READ_ONLY)
    async def data_question(question: str, ctx: Context) -> dict[str, Any]:
        """Answer a question about sales data (text-to-SQL, read-only): the table and the SQL behind it. Open to
        the roles allowed to ask data questions."""
        return await run(ctx, "data_question", tools.data_question, question)

    @server.tool(annotations=READ_ONLY)
    async def list_pending_actions(ctx: Context) -> list[dict[str, Any]]:
        """Writes waiting for a person's confirmation (a rep sees their own proposals)."""
        return await run(ctx, "list_pending_actions", tools.list_pending_actions)

    @server.resource("salesbot://section/{source}/{section}", mime_type="text/plain")
    async def cited_section(source: str, section: str, ctx: Context) -> str:
        """The text of a cited document section, as far as your role may read it."""
        return str(await run(ctx, "read_section", tools.read_section, source, section))

    return server


def build_http_app(server: MCPServer | None = None, roles_file: Path | None = None) -> Any:
    """The Streamable HTTP ASGI app at /mcp, behind bearer-token authentication."""
    from salesbot.settings import get_settings

    settings = get_settings()
    app = (server or build_server()).streamable_http_app(streamable_http_path="/mcp")
    return BearerTokenMiddleware(app, roles_file or settings.roles_file, settings.default_role)


def stdio_caller_from_token(token: str | None) -> McpCaller:
    """On stdio the desktop app's config passes the token (SALESBOT_MCP_TOKEN); it maps to a user like over HTTP."""
    from salesbot.settings import get_settings

    settings = get_settings()
    caller = caller_for_token(token or "", settings.roles_file, settings.default_role)
    if caller is None:
        raise McpServerError("SALESBOT_MCP_TOKEN must be a token listed under mcp_tokens in the roles file "
                             "(SALESBOT_ROLES_FILE).")
    return caller


def run_mcp(port: int = 8765, host: str = "127.0.0.1", stdio: bool = False, token: str | None = None) -> None:
    """Serve MCP over Streamable HTTP (every request needs a bearer token) or over stdio."""
    if stdio:
        build_server(stdio_caller=stdio_caller_from_token(token)).run("stdio")
        return
    import uvicorn

    uvicorn.run(build_http_app(), host=host, port=port, log_level="info")
