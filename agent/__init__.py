"""The LangGraph conversation graph: routing, retrieval, grounded answers, confirmation gates."""
