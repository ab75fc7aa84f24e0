"""Baselines on the same executor, events and tools: ReAct and one-round-trip parallel
tool calling."""

from ._parallel_calls import ParallelToolCallAgent
from ._react import ReActAgent

__all__ = ["ParallelToolCallAgent", "ReActAgent"]
