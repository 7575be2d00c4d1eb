"""A code-search teacher of our own: all-MiniLM-L6-v2 fine-tuned on typed-query/code pairs."""
