"""The config stage: the schema of every key, loading with one-line errors, the docs."""
