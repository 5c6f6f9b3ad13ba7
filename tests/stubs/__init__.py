"""Local stand-ins for external services (Slack Web API …), served on 127.0.0.1 for integration tests."""
