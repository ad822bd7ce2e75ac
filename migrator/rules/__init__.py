"""The rule catalog: one module per rule (its check, doc, recipe and examples)."""
