"""Bearer-token authentication for the MCP HTTP app: token → user (roles file) → role; no token, no request."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from connectors.mcp.models import McpCaller
from salesbot.roles import role_for_user, user_for_mcp_token

logger = logging.getLogger(__name__)

CALLER_STATE_KEY = "salesbot_caller"


def token_label(token: str) -> str:
    """A fingerprint that identifies a token in logs without revealing it."""
    return "tok-" + hashlib.sha256(token.encode()).hexdigest()[:10]


def caller_for_token(token: str, roles_file: Path | None, default_role: str) -> McpCaller | None:
    """The caller a token stands for, or None when the roles file does not list it."""
    user_id = user_for_mcp_token(token, roles_file)
    if user_id is None:
        return None
    return McpCaller(user_id=user_id, role=role_for_user(user_id, roles_file, default_role),
                     token_label=token_label(token))


class BearerTokenMiddleware:
    """ASGI middleware: 401 unless `Authorization: Bearer <token>` names a listed token; the caller goes in state."""

    def __init__(self, app: Any, roles_file: Path | None, default_role: str) -> None:
        self.app = app
        self.roles_file = roles_file
        self.default_role = default_role

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        caller = None
        if scheme.lower() == "bearer" and token.strip():
            try:
                caller = caller_for_token(token.strip(), self.roles_file, self.default_role)
            except Exception:  # a broken roles file refuses everyone; the reason goes to the server log only
                logger.exception("MCP token lookup failed")
        if caller is None:
            logger.warning("MCP request refused: %s", "no bearer token" if not token.strip() else "unknown token")
            await _unauthorized(send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        await self.app(scope, receive, send)


async def _unauthorized(send: Any) -> None:
    body = json.dumps({"error": "unauthorized",
                       "message": "A valid bearer token is required (ask an admin to add one under mcp_tokens "
                                  "in the roles file)."}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="salesbot"')]})
    await send({"type": "http.response.body", "body": body})
