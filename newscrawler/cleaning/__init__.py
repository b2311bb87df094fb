"""HTML cleaning of article bodies (SPEC §7): an allow-list sanitizer."""
