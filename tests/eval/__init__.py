"""Datasets of `parcall eval`, driven by the scripted model (no network)."""
