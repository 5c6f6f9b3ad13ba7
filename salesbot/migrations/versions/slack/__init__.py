"""Revisions of the slack store (Alembic reads this folder; the package makes setuptools ship it)."""
