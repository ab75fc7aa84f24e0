"""Benchmarks II: answer and plan accuracy on public datasets, offline, with any model."""

from ._dataset import Dataset, Example, Split, split_of

__all__ = ["Dataset", "Example", "Split", "split_of"]
