"""Data tables used by classification."""
