"""The demo company's data (documents, entity registry, pricing policy, seed parameters): data, not code."""
