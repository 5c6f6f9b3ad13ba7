"""The one base class for errors whose message is written for the person in the chat.

Connectors and the agent show `str(error)` only for these; any other exception becomes a short, generic
apology in the user's language while the details go to the log.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error a user can act on; its message is safe and meant to be shown as is."""
