"""Stores for caches and journals."""
