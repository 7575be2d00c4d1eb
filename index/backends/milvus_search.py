"""Scorers over a Milvus collection: vectors (IP), BM25 over three fields, and Milvus's own hybrid fusion.

Each scorer keeps the native interface (`top(query, n, filt)` best first, `score_all`), so the
Searcher fuses, filters, collapses and fetches records exactly as it does for the native engine.
Filters become Milvus boolean expressions: repo and language equality, a path glob as LIKE.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import vectors
from ..analysis import ParsedQuery
from ..fusion import FusionConfig
from ..lexical import LexicalConfig, TEXT_FIELDS, analyzer
from ..scorers import EMPTY, Filter
from .milvus import LEGACY_FUSIONS, connect, resolve_uri

IN_LIST_MAX = 16_384      # Milvus caps a search's limit (topk) at 16,384
OUT = ["id"]


def glob_to_like(glob: str) -> str | None:
    """A LIKE pattern equal to a GLOB of `*` and `?` (None for `[...]` classes, which LIKE lacks)."""
    if "[" in glob:
        return None
    out = []
    for ch in glob:
        out.append({"*": "%", "?": "_", "%": "\\\\%", "_": "\\\\_", "\\": "\\\\\\\\", '"': '\\"'}.get(ch, ch))
    return "".join(out)


def expression(filt: Filter | None) -> str:
    """The Milvus filter expression of a Filter ("" for none)."""
    if filt is None or not filt.active:
        return ""
    parts = [f"{field} == {json.dumps(value)}" for field, value in (("repo", filt.repo), ("language", filt.language))
             if value is not None]
    if filt.path is not None:
        like = glob_to_like(filt.path)
        if like is not None:
            parts.append(f'path like "{like}"')
        else:   # a character class: the store's GLOB decided which ids pass
            ids = filt.allowed[:IN_LIST_MAX] if filt.allowed is not None else []
            parts.append(f"id in [{', '.join(str(int(i)) for i in ids)}]")
    return " and ".join(parts)


def hits(result) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of a one-query result, best first; ties by id as the native scorers break them."""
    rows = result[0] if result else []
    ids = np.array([int(h["id"]) for h in rows], np.int64)
    scores = np.array([float(h["distance"]) for h in rows], np.float32)
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]


class MilvusScorer:
    """What the three scorers share: the client, the collection and the query encoder."""

    def __init__(self, client, collection: str, encoder, lex_cfg: LexicalConfig, lock: threading.Lock):
        self.client, self.collection, self.encoder, self.lex_cfg, self.lock = client, collection, encoder, lex_cfg, lock

    def embed(self, q: ParsedQuery) -> list[float] | None:
        if not q.words:
            return None
        xq = vectors.normalize(self.encoder.encode_queries([q.text]))
        return xq[0].tolist() if np.any(xq) else None

    def text_requests(self, q: ParsedQuery, n: int, expr: str, scale: float = 1.0) -> tuple[list, list[float]]:
        """One BM25 request per lexical field and its weight (the native field boosts, times scale)."""
        from pymilvus import AnnSearchRequest
        if not q.terms:
            return [], []
        text = " ".join(q.terms)
        reqs, weights = [], []
        for f in TEXT_FIELDS:
            boost = self.lex_cfg.boosts.get(f, 1.0)
            if boost > 0:
                reqs.append(AnnSearchRequest([text], f"bm25_{f}", {"metric_type": "BM25"}, n, expr=expr or None))
                weights.append(boost * scale)
        return reqs, weights

    def hybrid(self, reqs: list, ranker, n: int):
        with self.lock:   # milvus-lite serves one request at a time anyway
            return self.client.hybrid_search(self.collection, reqs, ranker, limit=n, output_fields=OUT)

    def score_all(self, q: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        """Scores of a whole (small) pool: the top len(ids), NaN for what Milvus did not return."""
        if len(ids) > IN_LIST_MAX:
            raise ValueError(f"Milvus returns at most {IN_LIST_MAX:,} hits; the pool has {len(ids):,}")
        out = np.full(len(ids), np.nan, np.float32)
        got, scores = self.top(q, len(ids), None)
        pos = np.searchsorted(ids, got)
        ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == got)
        out[pos[ok]] = scores[ok]
        return out


class MilvusNeural(MilvusScorer):
    """Inner product of the query vector with the collection's vectors."""

    name = "neural"

    def top(self, q: ParsedQuery, n: int, filt: Filter | None = None):
        xq = self.embed(q)
        if xq is None or (filt is not None and filt.active and filt.allowed is not None and not len(filt.allowed)):
            return EMPTY
        with self.lock:
            res = self.client.search(self.collection, data=[xq], anns_field="vec", limit=min(n, IN_LIST_MAX),
                                     search_params={"metric_type": "IP"}, filter=expression(filt), output_fields=OUT)
        return hits(res)


    def similar(self, fid: int, n: int):
        """(ids, scores) nearest to the vector the collection stores for this function, best first."""
        from ..errors import QueryError
        with self.lock:
            rows = self.client.get(self.collection, ids=[int(fid)], output_fields=["vec"])
        if not rows:
            raise QueryError(f"function {fid} has no stored vector")
        xq = vectors.normalize(np.asarray([rows[0]["vec"]], np.float32))
        with self.lock:
            res = self.client.search(self.collection, data=[xq[0].tolist()], anns_field="vec", limit=min(n, IN_LIST_MAX),
                                     search_params={"metric_type": "IP"}, output_fields=OUT)
        return hits(res)


class MilvusLexical(MilvusScorer):
    """BM25 over name, doc and code: Milvus sums the fields' raw scores with the native boosts."""

    name = "lexical"

    def __init__(self, *args):
        super().__init__(*args)
        # the Searcher marks matched lines with the native analyzer: the same words as Milvus's stemmer
        self.lex = SimpleNamespace(analyzer=analyzer(self.lex_cfg))

    def stems(self, q: ParsedQuery) -> set[str]:
        return set(self.lex.analyzer.analyze(" ".join(q.terms))) if q.terms else set()

    def top(self, q: ParsedQuery, n: int, filt: Filter | None = None):
        from pymilvus import WeightedRanker
        reqs, weights = self.text_requests(q, min(n, IN_LIST_MAX), expression(filt))
        if not reqs or (filt is not None and filt.active and filt.allowed is not None and not len(filt.allowed)):
            return EMPTY
        return hits(self.hybrid(reqs, WeightedRanker(*weights, norm_score=False), min(n, IN_LIST_MAX)))


class MilvusHybrid(MilvusScorer):
    """Milvus's hybrid_search: the vector and the three BM25 lists fused by Milvus (weighted or RRF)."""

    def __init__(self, *args, fusion: FusionConfig, method: str, mode: str = "hybrid"):
        super().__init__(*args)
        self.fusion, self.method, self.mode, self.name = fusion, method, mode, f"milvus_{mode}"

    def top(self, q: ParsedQuery, n: int, filt: Filter | None = None):
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker
        if filt is not None and filt.active and filt.allowed is not None and not len(filt.allowed):
            return EMPTY
        n, expr = min(n, IN_LIST_MAX), expression(filt)
        reqs, weights = [], []
        xq = self.embed(q)
        if xq is not None:
            reqs.append(AnnSearchRequest([xq], "vec", {"metric_type": "IP"}, n, expr=expr or None))
            weights.append(self.fusion.weight("neural", q.kind, self.mode))
        lex, lw = self.text_requests(q, n, expr, self.fusion.weight("lexical", q.kind, self.mode))
        reqs, weights = reqs + lex, weights + lw
        if not reqs:
            return EMPTY
        ranker = RRFRanker(int(self.fusion.rrf_k)) if self.method == "rrf" else WeightedRanker(*weights)
        return hits(self.hybrid(reqs, ranker, n))


def open_scorers(index_dir, manifest: dict, encoder, store, vcfg) -> tuple[dict, dict]:
    """The Milvus scorers of an index folder; `hybrid` is ours over its lists unless the manifest names a Milvus ranker."""
    backend = manifest["backend"]
    client = connect(resolve_uri(backend["uri"], Path(index_dir)), os.environ.get("MILVUS_TOKEN", ""))
    if not client.has_collection(backend["collection"]):
        from ..errors import IndexCorruptError
        raise IndexCorruptError(f"{index_dir}: Milvus at {backend['uri']} has no collection "
                                f"{backend['collection']!r}: rebuild the index")
    client.load_collection(backend["collection"])
    lock = threading.Lock()
    args = (client, backend["collection"], encoder, LexicalConfig(**manifest["config"]["lexical"]), lock)
    scorers = {"neural": MilvusNeural(*args), "lexical": MilvusLexical(*args)}
    fusion = backend.get("fusion", "weighted")   # a manifest without it predates the choice: weighted
    if LEGACY_FUSIONS.get(fusion, fusion) == "ours":
        return scorers, {}
    hybrid = MilvusHybrid(*args, fusion=FusionConfig(), method=fusion)
    return {**scorers, hybrid.name: hybrid}, {"hybrid": (hybrid.name,)}
