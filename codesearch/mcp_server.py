"""An MCP server over an index: search_code, get_function, similar_functions, list_repositories, index_status,
sync_index.

Built on the official `mcp` SDK (MCPServer). The index opens on a background thread (codesearch.served),
so `initialize` never waits for it; every tool reads its newest generation, which the server's own
sync (or a `codesearch index sync` beside it) publishes. A bad argument comes back as a tool error
whose text says what to change.
"""
from __future__ import annotations

import logging
from typing import Annotated, Literal

from pydantic import Field

from index.errors import QueryError

from .served import ServedIndex

log = logging.getLogger("codesearch.mcp")
INSTRUCTIONS = ("Semantic + lexical code search over the indexed repositories. Call search_code with what the code "
                "should do in plain words; use get_function on a hit's id for its whole body with context, "
                "similar_functions for code like it.")
Mode = Literal["hybrid", "neural", "lexical", "best"]


def build_server(served: ServedIndex):
    """The MCPServer with its six tools over one served index."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name="codesearch", instructions=INSTRUCTIONS, log_level="WARNING")

    def call(fn, *args, **kwargs):
        try:
            return fn(served.get(), *args, **kwargs)
        except QueryError as e:   # the user's mistake: a tool error saying what to change
            raise ToolError(str(e)) from None

    @server.tool(description="Search the indexed code for functions matching a plain-language query (or identifiers). "
                             "Returns ranked hits with id, name, repository, path, lines, permalink, score and code.")
    def search_code(
        query: Annotated[str, Field(description="what the code should do, e.g. 'read a json file and return a dict'")],
        k: Annotated[int, Field(description="number of hits, 1 to 50", ge=1, le=50)] = 10,
        repo: Annotated[str | None, Field(description="only this repository (see list_repositories)")] = None,
        lang: Annotated[str | None, Field(description="only this language, e.g. python, javascript, go")] = None,
        path: Annotated[str | None, Field(description="only paths matching this glob, e.g. 'src/*.py'")] = None,
        mode: Annotated[Mode, Field(description="hybrid (default: neural + BM25), neural, lexical, or best")] = "hybrid",
    ) -> dict:
        def run(s):
            res = s.search(query, k=k, mode=mode, repo=repo, lang=lang, path=path)
            hits = [{"id": h.id, "name": h.name, "repo": h.repo, "path": h.path, "start_line": h.start_line,
                     "end_line": h.end_line, "url": h.url, "language": h.language, "score": round(h.score, 6),
                     "code": h.code} for h in res.hits]
            return {"query": query, "mode": mode, "total": res.total, "took_ms": res.took_ms, "hits": hits}
        return call(run)

    @server.tool(description="The whole function of a search hit's id, with a few lines of context before and after "
                             "(read from its file only while the file is unchanged since the last sync).")
    def get_function(
        id: Annotated[int, Field(description="the id of a hit from search_code or similar_functions", ge=0)],
        context: Annotated[int, Field(description="lines of context either side, 0 to 50", ge=0, le=50)] = 3,
    ) -> dict:
        from index import lookup
        return call(lookup.function, id, context)

    @server.tool(description="Functions whose code is nearest to the given function's (code-to-code search by vector).")
    def similar_functions(
        id: Annotated[int, Field(description="the id of a hit from search_code", ge=0)],
        k: Annotated[int, Field(description="number of neighbours, 1 to 50", ge=1, le=50)] = 10,
    ) -> dict:
        from index import lookup
        return call(lambda s: {"id": id, "hits": lookup.similar(s, id, k)})

    @server.tool(description="The repositories in the index, with their number of functions.")
    def list_repositories() -> dict:
        def run(s):
            with s.store.lock:
                rows = s.store.db.execute("SELECT repo, COUNT(*) FROM functions GROUP BY repo ORDER BY repo").fetchall()
            return {"repositories": [{"name": r, "functions": n} for r, n in rows]}
        return call(run)

    @server.tool(description="What the index holds (functions, repositories, languages, model), whether it is open, "
                             "whether a sync is running and how the last one went.")
    def index_status() -> dict:
        return served.status()

    @server.tool(description="Sync the index with its folders now (the server also does so by itself after edits "
                             "settle) and return what changed: files and functions added or removed.")
    def sync_index() -> dict:
        try:
            return served.sync_now()
        except QueryError as e:
            raise ToolError(str(e)) from None

    return server
