"""Revisions of the wecom store (Alembic reads this folder; the package makes setuptools ship it)."""
