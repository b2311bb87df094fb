"""HTML cleaning of article bodies (docs/contract.md "Cleaning rules"): an allow-list sanitizer."""
