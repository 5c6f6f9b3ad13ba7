"""Unit tests of the agent package."""
