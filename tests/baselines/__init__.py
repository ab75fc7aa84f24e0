"""The ReAct and parallel-calls baselines."""
