"""Plan parsers (text, JSON, native tool calls), grammars and `finish(...)`."""
