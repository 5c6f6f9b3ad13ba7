"""WeCom (企业微信) connector: encrypted callbacks in, agent answers out through the app message API."""
