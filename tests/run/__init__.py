"""The run's machinery on its own: the executor, without a planner or a joiner."""
