"""Durable runs: the journal, resuming, a run killed and resumed (`worker.py`)."""
