"""Per-language function extractors (Python's `ast`, tree-sitter for the rest) behind one registry."""
