"""What the adopting revisions ask the live database: which tables and columns exist already."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def existing_tables() -> set[str]:
    """Tables of the migrated database (default schema): a baseline skips those `create_all` made before."""
    return set(sa.inspect(op.get_bind()).get_table_names())


def existing_columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}
