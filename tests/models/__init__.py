"""Model backends: llama.cpp, OpenAI-compatible servers, the local registry."""
