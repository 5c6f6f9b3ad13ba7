"""Role hierarchy and chat-user → role mapping; the retriever and the gates use these, never ad-hoc checks."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from salesbot.errors import UserFacingError
from salesbot.yaml_files import load_yaml_model

# Higher roles see everything lower roles see. "*" marks a document open to everyone.
logger = logging.getLogger(__name__)

ROLE_ORDER = ["rep", "manager", "vp", "admin"]
EVERYONE = "*"


class UnknownRoleError(UserFacingError, ValueError):
    """A role name that is not part of ROLE_ORDER."""


def normalize_role(role: str) -> str:
    cleaned = role.strip().lower()
    if cleaned not in ROLE_ORDER:
        raise UnknownRoleError(f"unknown role {role!r}; known roles: {', '.join(ROLE_ORDER)}")
    return cleaned


def effective_roles(role: str) -> list[str]:
    """The roles whose documents `role` may read: itself, every lower role, and EVERYONE."""
    rank = ROLE_ORDER.index(normalize_role(role))
    return [EVERYONE, *ROLE_ORDER[: rank + 1]]


def role_at_least(role: str, required: str) -> bool:
    return ROLE_ORDER.index(normalize_role(role)) >= ROLE_ORDER.index(normalize_role(required))


def lower_role(first: str, second: str) -> str:
    """The less privileged of two roles (e.g. a manager's role capped for an answer everyone in a channel reads)."""
    return min(normalize_role(first), normalize_role(second), key=ROLE_ORDER.index)


def can_read(role: str, access: list[str] | None) -> bool:
    """True when a document with this access list may reach a user with this role."""
    if not access:
        return True
    allowed = set(effective_roles(role))
    return any(entry in allowed for entry in access)


class RolesFile(BaseModel):
    """The roles YAML (SALESBOT_ROLES_FILE): `users: {CHAT_USER_ID: role}`, `mcp_tokens: {TOKEN: USER_ID}`."""

    model_config = ConfigDict(extra="forbid")

    users: dict[str, str] = Field(default_factory=dict, description="Chat user id (Slack, WeCom, OS user) → role.")
    mcp_tokens: dict[str, str] = Field(
        default_factory=dict, description="MCP bearer token → user id (a key of `users`, or the default role).")

    @field_validator("mcp_tokens", mode="before")
    @classmethod
    def _tokens_as_text(cls, value: object) -> object:
        return {str(key): str(user) for key, user in value.items()} if isinstance(value, dict) else value

    @field_validator("mcp_tokens")
    @classmethod
    def _tokens_long_enough(cls, tokens: dict[str, str]) -> dict[str, str]:
        # A short token can be guessed; refuse to start rather than expose the knowledge base.
        short = [user for token, user in tokens.items() if len(token) < 16]
        if short:
            raise ValueError(f"MCP tokens must be at least 16 characters (users: {', '.join(sorted(short))})")
        return tokens

    @field_validator("users", mode="before")
    @classmethod
    def _user_ids_as_text(cls, value: object) -> object:
        # Numeric WeCom ids arrive as YAML ints; they are ids, not numbers.
        return {str(key): str(role) for key, role in value.items()} if isinstance(value, dict) else value

    @field_validator("users")
    @classmethod
    def _known_roles(cls, users: dict[str, str]) -> dict[str, str]:
        # Fail closed: a typo in a role must stop the start-up, not silently demote or promote someone.
        return {user_id: normalize_role(role) for user_id, role in users.items()}


def users_by_role(roles_file: Path | None) -> dict[str, str]:
    """`users: {CHAT_USER_ID: role}` from the roles YAML (validated; ConfigFileError names the file and key)."""
    if roles_file is None or not Path(roles_file).exists():
        return {}
    return dict(load_yaml_model(Path(roles_file), RolesFile).users)


def user_for_mcp_token(token: str, roles_file: Path | None) -> str | None:
    """The user id a bearer token stands for, or None; every stored token is compared in constant time."""
    if roles_file is None or not Path(roles_file).exists() or not token:
        return None
    offered = token.encode()
    matched: str | None = None
    # Compare against every token (no early exit) so timing does not reveal how many tokens, or which, are close.
    for stored_token, user_id in load_yaml_model(Path(roles_file), RolesFile).mcp_tokens.items():
        if hmac.compare_digest(stored_token.encode(), offered):
            matched = user_id
    return matched


def role_for_user(user_id: str, roles_file: Path | None, default_role: str) -> str:
    """A chat user's role from the roles YAML; unknown users get the default (least-privileged) role."""
    return users_by_role(roles_file).get(user_id) or normalize_role(default_role)


def approver_user_ids(required_role: str, roles_file: Path | None) -> list[str]:
    """Users holding exactly the required role; when none is listed, the nearest higher role that has someone."""
    users = users_by_role(roles_file)
    required = normalize_role(required_role)
    for role in ROLE_ORDER[ROLE_ORDER.index(required):]:
        holders = sorted(user_id for user_id, user_role in users.items() if user_role == role)
        if holders:
            return holders
    return []

