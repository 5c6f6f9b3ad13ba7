"""Thin edges: the CLI, Slack and WeCom parse events, call the agent and render its answer."""
