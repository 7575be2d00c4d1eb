"""Speed: query and encoding latency, the served page and MCP round trips, sync, extraction and training throughput."""
