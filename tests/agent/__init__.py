"""`Agent` end to end: the round loop, its arguments, conversations, usage limits."""
