"""The Slack connector's own tables: the proposals it posted, where it posted them, and the threads it is in.

In a SQLite file under SALESBOT_HOME by default; in SALESBOT_DATABASE_URL's database with the server profile, so
any Slack server process can show the Edit form or update the buttons of a proposal another process posted.
Delivered event ids are claimed in the connectors' shared store (connectors.common.dedupe).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, text
from sqlalchemy.engine import Engine

from salesbot.database import engine_for, insert_ignoring_conflicts, upgrade_schema, upsert
from salesbot.settings import get_settings
from tools.gate.models import ActionView

# Proposals older than this are not expected to be decided from Slack any more.
MESSAGE_RETENTION_SECONDS = 30 * 24 * 3600

# Its own metadata: these tables go where the store is, never with the sales models. Its migrations
# (salesbot/migrations/versions/slack) create them; tests/unit/test_migrations.py checks that the two agree.
metadata = MetaData()
pending_action_snapshots = Table(
    "slack_pending_action_snapshots", metadata,
    Column("action_id", String, primary_key=True),
    Column("args_json", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("saved_at", Float, nullable=False),
)
posted_messages = Table(
    "slack_posted_messages", metadata,
    Column("channel", String, primary_key=True),
    Column("ts", String, primary_key=True),
    Column("blocks_json", Text, nullable=False),
    Column("saved_at", Float, nullable=False),
)
action_messages = Table(
    "slack_action_messages", metadata,
    Column("action_id", String, primary_key=True),
    Column("channel", String, primary_key=True),
    Column("ts", String, primary_key=True),
)
# Threads the bot has replied in: a file shared there later, without an @mention, is meant for the bot too.
bot_threads = Table(
    "slack_bot_threads", metadata,
    Column("channel", String, primary_key=True),
    Column("thread_ts", String, primary_key=True),
    Column("saved_at", Float, nullable=False),
)


def default_store_path() -> Path:
    return get_settings().home_dir / "slack_connector.db"


class SlackConnectorStore:
    """Persistent so that a restarted server does not forget what it proposed, or where it showed the buttons.

    An explicit database_path is a SQLite file; without one the store lives in SALESBOT_DATABASE_URL's database
    when that is set, else in slack_connector.db under SALESBOT_HOME.
    """

    def __init__(self, database_path: Path | None = None) -> None:
        server_url = None if database_path else get_settings().database_url
        self.database_path: Path | None = None
        if server_url is None:
            self.database_path = Path(database_path) if database_path else default_store_path()
            self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = engine_for(server_url or f"sqlite:///{self.database_path}")
        upgrade_schema(self._engine, "slack")
        with self._engine.begin() as connection:
            connection.execute(
                text("DELETE FROM slack_posted_messages WHERE saved_at < :cutoff"),
                {"cutoff": time.time() - MESSAGE_RETENTION_SECONDS},
            )
            connection.execute(
                text("DELETE FROM slack_bot_threads WHERE saved_at < :cutoff"),
                {"cutoff": time.time() - MESSAGE_RETENTION_SECONDS},
            )
            connection.execute(text(
                "DELETE FROM slack_action_messages WHERE NOT EXISTS (SELECT 1 FROM slack_posted_messages m"
                " WHERE m.channel = slack_action_messages.channel AND m.ts = slack_action_messages.ts)"))

    def remember_pending_action(self, action: ActionView) -> None:
        """Keep the proposed arguments so the Edit button can show them (Slack buttons carry only the id)."""
        with self._engine.begin() as connection:
            connection.execute(
                upsert(self._engine, pending_action_snapshots),
                {
                    "action_id": action.id,
                    "args_json": json.dumps(action.args, ensure_ascii=False, default=str),
                    "summary": action.summary,
                    "saved_at": time.time(),
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
                upsert(self._engine, posted_messages),
                {"channel": channel, "ts": ts, "blocks_json": json.dumps(blocks, ensure_ascii=False),
                 "saved_at": time.time()},
            )
            connection.execute(
                insert_ignoring_conflicts(self._engine, action_messages),
                {"action_id": action_id, "channel": channel, "ts": ts},
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

    def remember_bot_thread(self, channel: str, thread_ts: str) -> None:
        """The bot replies in this thread (refreshed on every reply, so an active thread is never forgotten)."""
        with self._engine.begin() as connection:
            connection.execute(upsert(self._engine, bot_threads),
                               {"channel": channel, "thread_ts": thread_ts, "saved_at": time.time()})

    def bot_takes_part_in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether the bot has replied in this thread (in the last MESSAGE_RETENTION_SECONDS), by any process."""
        with self._engine.connect() as connection:
            row = connection.execute(
                text("SELECT 1 FROM slack_bot_threads WHERE channel = :channel AND thread_ts = :thread_ts"),
                {"channel": channel, "thread_ts": thread_ts},
            ).first()
        return row is not None
