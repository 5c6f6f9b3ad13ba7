"""Onboarding a database: draft a semantic layer from its schema and values, and check a layer people edited."""

from tools.text2sql.drafting.draft import draft_layer

__all__ = ["draft_layer"]
