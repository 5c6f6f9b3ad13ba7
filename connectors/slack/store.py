"""The Slack connector's own SQLite file under SALESBOT_HOME: the proposals it posted and where it posted them.

Delivered event ids are claimed in the connectors' shared store (connectors.common.dedupe).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from salesbot.database import engine_for
from salesbot.settings import get_settings
from tools.gate.models import ActionView

# Proposals older than this are not expected to be decided from Slack any more.
MESSAGE_RETENTION_SECONDS = 30 * 24 * 3600

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS slack_pending_action_snapshots ("
    " action_id TEXT PRIMARY KEY, args_json TEXT NOT NULL, summary TEXT NOT NULL, saved_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS slack_posted_messages ("
    " channel TEXT NOT NULL, ts TEXT NOT NULL, blocks_json TEXT NOT NULL, saved_at REAL NOT NULL,"
    " PRIMARY KEY (channel, ts))",
    "CREATE TABLE IF NOT EXISTS slack_action_messages ("
    " action_id TEXT NOT NULL, channel TEXT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY (action_id, channel, ts))",
]


def default_store_path() -> Path:
    return get_settings().home_dir / "slack_connector.db"


class SlackConnectorStore:
    """Persistent so that a restarted server does not forget what it proposed, or where it showed the buttons."""

    def __init__(self, database_path: Path | None = None) -> None:
        self.database_path = Path(database_path) if database_path else default_store_path()
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = engine_for(f"sqlite:///{self.database_path}")
        with self._engine.begin() as connection:
            for statement in _SCHEMA:
                connection.execute(text(statement))
            connection.execute(
                text("DELETE FROM slack_posted_messages WHERE saved_at < :cutoff"),
                {"cutoff": time.time() - MESSAGE_RETENTION_SECONDS},
            )
            connection.execute(text(
                "DELETE FROM slack_action_messages WHERE NOT EXISTS (SELECT 1 FROM slack_posted_messages m"
                " WHERE m.channel = slack_action_messages.channel AND m.ts = slack_action_messages.ts)"))

    def remember_pending_action(self, action: ActionView) -> None:
        """Keep the proposed arguments so the Edit button can show them (Slack buttons carry only the id)."""
        with self._engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT OR REPLACE INTO slack_pending_action_snapshots (action_id, args_json, summary, saved_at)"
                    " VALUES (:id, :args, :summary, :now)"
                ),
                {
                    "id": action.id,
                    "args": json.dumps(action.args, ensure_ascii=False, default=str),
                    "summary": action.summary,
                    "now": time.time(),
                },
            )

    def pending_action_snapshot(self, action_id: str) -> tuple[dict[str, Any], str] | None:
        """(args, summary) as rendered, or None when this server never rendered that action."""
        with self._engine.connect() as connection:
            row = connection.execute(
                text("SELECT args_json, summary FROM slack_pending_action_snapshots WHERE action_id = :id"),
                {"id": action_id},
            ).first()
        return (json.loads(row[0]), row[1]) if row else None

    def remember_action_message(self, action_id: str, channel: str, ts: str, blocks: list[dict[str, Any]]) -> None:
        """A message carrying this action's buttons (the thread post, each approver's DM copy)."""
        with self._engine.begin() as connection:
            connection.execute(
                text("INSERT OR REPLACE INTO slack_posted_messages (channel, ts, blocks_json, saved_at)"
                     " VALUES (:channel, :ts, :blocks, :now)"),
                {"channel": channel, "ts": ts, "blocks": json.dumps(blocks, ensure_ascii=False), "now": time.time()},
            )
            connection.execute(
                text("INSERT OR IGNORE INTO slack_action_messages (action_id, channel, ts) VALUES (:id, :channel, :ts)"),
                {"id": action_id, "channel": channel, "ts": ts},
            )

    def action_messages(self, action_id: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(channel, ts, current blocks) of every message showing this action's buttons."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                text("SELECT m.channel, m.ts, m.blocks_json FROM slack_action_messages a"
                     " JOIN slack_posted_messages m ON m.channel = a.channel AND m.ts = a.ts"
                     " WHERE a.action_id = :id ORDER BY m.saved_at"),
                {"id": action_id},
            ).all()
        return [(row[0], row[1], json.loads(row[2])) for row in rows]

    def update_message_blocks(self, channel: str, ts: str, blocks: list[dict[str, Any]]) -> None:
        """After chat.update: later decisions on the same message start from what it shows now."""
        with self._engine.begin() as connection:
            connection.execute(
                text("UPDATE slack_posted_messages SET blocks_json = :blocks WHERE channel = :channel AND ts = :ts"),
                {"channel": channel, "ts": ts, "blocks": json.dumps(blocks, ensure_ascii=False)},
            )
