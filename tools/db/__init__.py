"""The sales database schema (SQLModel tables) and its session."""
