"""salesbot as an MCP server: thin tools over the agent, retriever, pricing, gate and text-to-SQL entry points."""
