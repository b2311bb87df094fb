"""Item pipelines: validate, clean, deduplicate, archive images, write posts."""
