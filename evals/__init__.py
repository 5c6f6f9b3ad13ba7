"""Evaluation suite: datasets, retrieval / RAG / SQL / safety metrics, report writer."""
