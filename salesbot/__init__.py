"""Cross-cutting pieces every layer shares: typed settings, roles and the database engine."""
