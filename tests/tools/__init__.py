"""Built-in tools and tools from MCP, OpenAPI and LangChain."""
