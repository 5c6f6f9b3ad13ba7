"""Role hierarchy and chat-user → role mapping; the retriever and the gates use these, never ad-hoc checks."""

from __future__ import annotations

from pathlib import Path

import yaml

# Higher roles see everything lower roles see. "*" marks a document open to everyone.
ROLE_ORDER = ["rep", "manager", "vp", "admin"]
EVERYONE = "*"


class UnknownRoleError(ValueError):
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


def can_read(role: str, access: list[str] | None) -> bool:
    """True when a document with this access list may reach a user with this role."""
    if not access:
        return True
    allowed = set(effective_roles(role))
    return any(entry in allowed for entry in access)


def role_for_user(user_id: str, roles_file: Path | None, default_role: str) -> str:
    """Look a chat user up in the roles YAML (`users: {ID: role}`); unknown users get the default role."""
    if roles_file is None or not Path(roles_file).exists():
        return normalize_role(default_role)
    data = yaml.safe_load(Path(roles_file).read_text(encoding="utf-8")) or {}
    users = data.get("users") or {}
    role = users.get(user_id)
    return normalize_role(role) if role else normalize_role(default_role)
