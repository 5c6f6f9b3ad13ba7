"""Revisions of the sales store (Alembic reads this folder; the package makes setuptools ship it)."""
