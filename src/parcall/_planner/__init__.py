"""Planning: the plan formats (LLMCompiler text, JSON, native tool calls), their parsers,
the grammars that constrain them and the prompts."""
