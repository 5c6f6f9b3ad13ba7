"""The rule compiler as a pipeline: intent (words) → linking (schema, values) → plan → joins → sqlglot rendering."""
