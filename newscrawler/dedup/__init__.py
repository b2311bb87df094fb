"""Deduplication: content fingerprints and the seen-articles store."""
