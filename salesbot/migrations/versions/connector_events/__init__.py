"""Revisions of the connector_events store (Alembic reads this folder; the package makes setuptools ship it)."""
