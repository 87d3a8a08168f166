"""The example site's MCP server: ``list_companies`` over streamable HTTP at ``/mcp``."""
