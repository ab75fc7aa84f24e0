"""Joining: the joiner's decision, the answer's shape and checks, typed output."""
