"""The append-only, hash-chained journal, and the filter that keeps secrets out of it."""
