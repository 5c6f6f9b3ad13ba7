"""Answer composition: extractive cited answers, LLM answers with a post-check, refusals."""
