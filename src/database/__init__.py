"""database package."""
