"""The role a CLI command runs as: `--role` capped by what the roles file gives the local user."""

from __future__ import annotations

import getpass
import logging

import typer

from salesbot.errors import UserFacingError
from salesbot.roles import UnknownRoleError, normalize_role, role_at_least, users_by_role
from salesbot.settings import Settings

logger = logging.getLogger(__name__)


class CliRoleNotAllowedError(typer.BadParameter, UserFacingError):
    """`--role` asks for more than the roles file gives the local user.

    The command line's own usage error: every command prints "Invalid value for --role: …" and exits with
    code 2, no traceback, without handling it itself.
    """


class CliUnknownRoleError(typer.BadParameter, UnknownRoleError):
    """An unknown `--role`: a usage error (exit code 2) where the command does not handle it itself."""


def cli_role(requested: str | None, user: str | None, settings: Settings) -> str:
    """The role a CLI command runs as: `--role`, or when absent the roles file's role for the local user.

    On a shared host the CLI must not hand a rep manager data because they typed `--role manager`: when a
    roles file is configured, the requested role may not exceed the one the file gives the local user —
    `--user` when the file lists it, else the OS user (getpass.getuser()) when it does, else the default
    role — unless an admin sets SALESBOT_CLI_ROLE_OVERRIDE=true. Raises CliRoleNotAllowedError when it
    does, UnknownRoleError for a role name that is not one.
    """
    try:
        requested_role = normalize_role(requested) if requested else None
    except UnknownRoleError as error:
        raise CliUnknownRoleError(str(error), param_hint="--role") from None
    if settings.roles_file is None:
        return requested_role or normalize_role(settings.default_role)
    users = users_by_role(settings.roles_file)
    local_user = user if user and user in users else _os_user()
    granted = users.get(local_user or "") or normalize_role(settings.default_role)
    if requested_role is None or settings.cli_role_override or role_at_least(granted, requested_role):
        return requested_role or granted
    logger.warning("refused CLI --role %s for %s (the roles file gives %s)", requested_role, local_user, granted)
    raise CliRoleNotAllowedError(
        f"--role {requested_role} exceeds the role the roles file ({settings.roles_file}) gives "
        f"{local_user or user!r}: {granted}. Use --role {granted}, or an admin sets "
        "SALESBOT_CLI_ROLE_OVERRIDE=true.", param_hint="--role")


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (e.g. a container user without a passwd entry)
        return None
