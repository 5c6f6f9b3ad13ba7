"""Scripts that print figures: retrieval quality and latency, answer latency, text-to-SQL accuracy, load."""
