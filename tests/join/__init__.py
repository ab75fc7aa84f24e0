"""The joiner: its decision, grounding, answer shape, repeats, follow-up, output."""
