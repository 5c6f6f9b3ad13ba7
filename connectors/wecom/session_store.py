"""A wechatpy session store in SQL (a SQLite file under SALESBOT_HOME, or the server database), so the access
token survives restarts and is shared by every WeCom server process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, select
from sqlalchemy.engine import Engine
from wechatpy.session import SessionStorage

from salesbot.database import engine_for, upgrade_schema, upsert
from salesbot.settings import Settings, get_settings

# Created by this store's migrations (salesbot/migrations/versions/wecom), which must match it.
metadata = MetaData()
wechatpy_session = Table(
    "wechatpy_session", metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float),
)


def default_session_path(home_dir: Path) -> Path:
    return home_dir / "wecom" / "wechatpy_session.sqlite3"


class SqlSessionStorage(SessionStorage):
    """wechatpy's SessionStorage interface (get/set/delete with a TTL) over one table.

    WeCom limits how often gettoken may be called; keeping the token across restarts and processes
    avoids fetching a new one every start. Expired entries read as missing, so wechatpy fetches anew.
    database_path: a SQLite file; database_url: any SQLAlchemy URL (see `for_settings`).
    """

    def __init__(self, database_path: Path | None = None, *, database_url: str | None = None) -> None:
        self.database_path: Path | None = None
        if database_url is None:
            if database_path is None:
                raise ValueError("SqlSessionStorage needs a SQLite file path or a database URL")
            self.database_path = Path(database_path)
            self.database_path.parent.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{self.database_path}"
        self._engine: Engine = engine_for(database_url)
        upgrade_schema(self._engine, "wecom")

    @classmethod
    def for_settings(cls, settings: Settings | None = None) -> SqlSessionStorage:
        """The server database when SALESBOT_DATABASE_URL is set, else a SQLite file under SALESBOT_HOME."""
        settings = settings or get_settings()
        if settings.database_url:
            return cls(database_url=settings.database_url)
        return cls(default_session_path(settings.home_dir))

    def get(self, key: str, default: Any = None) -> Any:
        with self._engine.connect() as connection:
            row = connection.execute(select(wechatpy_session.c.value, wechatpy_session.c.expires_at)
                                     .where(wechatpy_session.c.key == key)).first()
        if row is None:
            return default
        value, expires_at = row
        if expires_at is not None and expires_at <= time.time():
            return default
        return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        expires_at = time.time() + ttl if ttl else None
        with self._engine.begin() as connection:
            connection.execute(upsert(self._engine, wechatpy_session),
                               {"key": key, "value": str(value), "expires_at": expires_at})

    def delete(self, key: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(wechatpy_session).where(wechatpy_session.c.key == key))

    def close(self) -> None:
        """Nothing to close: the engine is shared per URL (salesbot.database) and disposed on reset."""


# The name the connector and its tests have used since the store was SQLite-only.
SqliteSessionStorage = SqlSessionStorage
