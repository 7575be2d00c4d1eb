"""Small helpers every stage shares: atomic file writes, the thread budget, the Ray connection."""
