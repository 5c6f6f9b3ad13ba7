"""Slack connector: bolt listeners that parse events, hand them to the agent and render the results."""
