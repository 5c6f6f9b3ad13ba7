"""Text-to-SQL for managers: semantic layers, a rule compiler (no LLM), an LLM path, a guard, read-only runs, charts."""
