"""The confirmation gate's errors: every message is written for the person in the chat."""

from __future__ import annotations

from salesbot.errors import UserFacingError
from salesbot.yaml_files import ConfigFileError


class ActionError(UserFacingError):
    """Base of the gate's errors; str(error) is a message a chat user can act on."""


class ActionNotFound(ActionError):
    """No pending action has this id."""


class ActionNotAllowed(ActionError):
    """This person may not make this decision (or the action is already decided otherwise)."""


class ActionInvalid(ActionError, ValueError):
    """The proposed arguments are incomplete or wrong."""


class ResponsibilityFileError(ActionError, ConfigFileError):
    """The responsibility YAML is missing or wrong; the message names the file, the key and the problem."""


class ApplyFailed(Exception):
    """A write could not be applied (e.g. the opportunity was deleted meanwhile); the action is marked failed."""
