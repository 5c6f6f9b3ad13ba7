"""Pydantic types of the MCP connector: who is calling."""

from __future__ import annotations

from pydantic import BaseModel, Field


class McpCaller(BaseModel):
    """The person behind a bearer token: the roles file's user and role, never anything the client claims."""

    user_id: str
    role: str
    token_label: str = Field(description="A short, non-secret fingerprint of the token for logs and audit.")
