"""Small utilities shared by every stage (atomic file writes)."""
