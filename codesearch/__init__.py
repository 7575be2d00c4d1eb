"""The codesearch front ends beside the web app: the `codesearch` command line and the MCP server."""
