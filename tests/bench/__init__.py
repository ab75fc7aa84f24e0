"""The benchmark harness and the results plots."""
