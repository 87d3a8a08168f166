"""Real OAuth and MCP clients against a live example site (see README.md)."""
