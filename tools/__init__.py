"""Typed tool functions the agent calls: knowledge search, pricing, tasks and actions, text-to-SQL."""
