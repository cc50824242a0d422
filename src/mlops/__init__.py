"""mlops package."""
