"""Revisions of the knowledge store (Alembic reads this folder; the package makes setuptools ship it)."""
