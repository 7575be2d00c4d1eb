"""codenn package."""
