"""`parcall serve`: the OpenAI-compatible endpoint."""
