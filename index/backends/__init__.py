"""Storage backends behind one interface: scorers with `top` and `score_all` over one index folder.

`native` (FAISS + tantivy files in the index folder) is the default and the reference; `milvus`
keeps the vectors and the BM25 text in a Milvus collection. The manifest's `backend` names which,
so every front end opens an index the same way. Milvus is imported only for a Milvus index.
"""
from __future__ import annotations

BACKENDS = ("native", "milvus")


def backend_name(manifest: dict) -> str:
    """The backend an index was built with (indexes from before backends existed are native)."""
    return (manifest.get("backend") or {}).get("name", "native")


def open_scorers(index_dir, manifest: dict, encoder, store, vcfg) -> tuple[dict, dict]:
    """(scorers by name, modes the backend adds or replaces) for an index folder of a non-native backend.

    The native scorers open in Searcher.open, from the generation a sync pinned (index.snapshot).
    """
    name = backend_name(manifest)
    if name == "milvus":
        from .milvus_search import open_scorers as milvus
        return milvus(index_dir, manifest, encoder, store, vcfg)
    from ..errors import IndexCorruptError
    raise IndexCorruptError(f"{index_dir}: unknown index backend {name!r} (known: {', '.join(BACKENDS)})")
