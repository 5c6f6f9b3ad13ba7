"""Per-run context of the graph: who is asking, with which role, in which thread (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Context:
    """Runtime context passed to every node via `graph.invoke(..., context=Context(...))`."""

    user_id: str = field(default="cli-user", metadata={"description": "Chat user id of the person asking."})
    role: str = field(default="rep", metadata={"description": "Role that decides which documents and data "
                                                             "the user may see: rep, manager, vp, admin."})
    thread_id: str = field(default="default", metadata={"description": "Conversation thread (Slack thread, "
                                                                       "WeCom chat, CLI --thread)."})
    channel: str = field(default="cli", metadata={"description": "cli, slack, wecom, eval or mcp."})
