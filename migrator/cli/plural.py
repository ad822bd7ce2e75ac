"""Counts in output text: ``1 row``, ``2 rows``, ``1 batch``, ``3 batches``."""

from __future__ import annotations


def count(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}{'es' if word.endswith(('ch', 'sh', 's', 'x')) else 's'}"
