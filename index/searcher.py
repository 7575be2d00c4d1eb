"""The hybrid searcher: validate a query, run the mode's scorers, fuse, filter, collapse duplicates, fetch."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import vectors
from .analysis import ParsedQuery, matched_lines, parse_query
from .encoders import check_identity, encoder_for, limit_torch_threads, load_encoder
from .backends import backend_name
from .errors import QueryError
from .fusion import FusionConfig, fuse, fuse_all
from .lexical import LexicalConfig, LexicalIndex
from .manifest import STORE, read_manifest
from .snapshot import load_vectors, open_snapshot
from .scorers import Filter, LexicalScorer, NeuralScorer
from .store import Store
from .vectors import VectorConfig


@dataclass
class SearchConfig:
    """Modes (which scorers each fuses), fusion, candidate depth and the limits on a query."""

    modes: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "neural": ("neural",), "lexical": ("lexical",), "hybrid": ("neural", "lexical"),
        # a transformer encodes the query too: only where the index holds a teacher's code vectors
        "best": ("teacher", "neural", "lexical")})
    fusion: FusionConfig = field(default_factory=FusionConfig)
    depth: int = 100               # candidates per scorer; more when a page reaches deeper
    collapse_duplicates: bool = True
    max_query_chars: int = 1000
    max_k: int = 1000
    max_offset: int = 10_000
    filter_cache: int = 32         # filters whose allowed ids (and vectors) stay cached
    torch_threads: int | None = 1  # process-wide; see encoders.limit_torch_threads
    faiss_threads: int | None = 1  # process-wide; see vectors.use_threads
    # a mode's other scorers run on these threads while the first runs in the caller's: tantivy,
    # FAISS and torch release the GIL, so on 2 cores BM25 overlaps encode + FAISS (0: one after another)
    scorer_threads: int = 4


@dataclass
class Hit:
    id: int
    name: str
    repo: str
    path: str
    start_line: int
    end_line: int
    url: str
    language: str
    score: float
    code: str
    desc: str
    matched_lines: list[int]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    total: int
    took_ms: float

    def to_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "total": self.total, "took_ms": self.took_ms,
                "hits": [h.to_dict() for h in self.hits]}


class Searcher:
    """Search one index folder; thread-safe for concurrent queries."""

    def __init__(self, store: Store, scorers: dict, cfg: SearchConfig, manifest: dict, index_dir: str | Path):
        self.store, self.scorers, self.cfg, self.manifest = store, dict(scorers), cfg, manifest
        self.index_dir = Path(index_dir)
        self._size = store.count()
        self._rows: RowTable | None = None    # every row's id and key: loaded when a request needs them all
        self._rows_lock = threading.Lock()
        self._repos = store.repos()
        self._languages = store.languages()
        self._repo_set, self._lang_set = set(self._repos), set(self._languages)
        self._filters: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def open(cls, index_dir: str | Path, model_dir: str | Path | None = None, *, encoder=None, teacher=None,
             cfg: SearchConfig | None = None, vector_cfg: VectorConfig | None = None) -> "Searcher":
        """Open an index with the model it was built with (model_dir defaults to the manifest's).

        encoder, teacher: query models already loaded (a previous generation's), used where they fit.
        """
        index_dir = Path(index_dir)
        manifest = read_manifest(index_dir)
        if backend_name(manifest) != "native":   # vectors and BM25 in another engine: index.backends
            return cls.open_backend(index_dir, manifest, model_dir, encoder=encoder, cfg=cfg)
        snap = open_snapshot(index_dir)    # one generation, even while `index sync` publishes the next
        manifest, store = snap.manifest, snap.store
        cfg = cfg or SearchConfig()
        vectors.use_threads(cfg.faiss_threads)
        # FAISS reads its file without the GIL (0.45 s for 358k HNSW vectors): beside the model and BM25
        with ThreadPoolExecutor(1, thread_name_prefix="open-vectors") as pool:
            reading = pool.submit(load_vectors, snap)
            if encoder is None:
                encoder = load_encoder(model_dir, torch_free=True) if model_dir is not None else \
                    encoder_for(manifest["model"], torch_free=True)
            check_identity(manifest["model"], encoder)
            limit_torch_threads(cfg.torch_threads)
            lex = LexicalIndex(snap.lexical_dir, LexicalConfig(**manifest["config"]["lexical"]))
            index = reading.result()
        vcfg = vector_cfg or VectorConfig(**manifest["config"]["vectors"])
        scorers = {"neural": NeuralScorer(encoder, index, vcfg, store.tombstones()), "lexical": LexicalScorer(lex)}
        teacher = teacher_queries(encoder, manifest["model"].get("teacher"), loaded=teacher)
        if teacher is not None:   # its weights load on the first `best` query
            scorers["teacher"] = NeuralScorer(teacher, index, vcfg, store.tombstones(), name="teacher")
        return cls(store, scorers, cfg, manifest, index_dir)

    @classmethod
    def open_backend(cls, index_dir: Path, manifest: dict, model_dir=None, *, encoder=None,
                     cfg: SearchConfig | None = None) -> "Searcher":
        """Open an index whose manifest names a backend other than native (records stay in its store)."""
        from .backends import open_scorers
        if encoder is None:
            encoder = load_encoder(model_dir, torch_free=True) if model_dir is not None else \
                encoder_for(manifest["model"], torch_free=True)
        check_identity(manifest["model"], encoder)
        cfg = cfg or SearchConfig()
        limit_torch_threads(cfg.torch_threads)
        store = Store(index_dir / manifest.get("store", STORE), readonly=True)
        scorers, modes = open_scorers(index_dir, manifest, encoder, store, VectorConfig(**manifest["config"]["vectors"]))
        return cls(store, scorers, dataclasses.replace(cfg, modes={**cfg.modes, **modes}), manifest, index_dir)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self.store.close()

    def add_scorer(self, scorer, modes: dict[str, tuple[str, ...]] | None = None) -> None:
        """Register another scorer (e.g. a pretrained sentence encoder) and the modes that use it."""
        self.scorers[scorer.name] = scorer
        self.cfg.modes.update(modes or {})

    def warm(self, rows: bool = True) -> None:
        """Load what loads lazily now: the row table (if asked), and the `best` mode's transformer (seconds on first use)."""
        if rows:
            self.rows()
        scorer = self.scorers.get("teacher")
        if scorer is not None:
            scorer.encoder.encode_queries(["warm up"])

    def modes(self) -> list[str]:
        """The modes this index can serve (`best` needs an index of teacher code vectors)."""
        return [m for m, names in self.cfg.modes.items() if all(n in self.scorers for n in names)]

    # -- the public read-only views --------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def ids(self) -> np.ndarray:
        return self.rows().ids.copy()

    def rows(self) -> "RowTable":
        """The row table, read from the store on first use (a second on 358k functions: not on a command's path)."""
        if self._rows is None:
            with self._rows_lock:
                if self._rows is None:
                    self._rows = RowTable(self.store)
        return self._rows

    def repos(self) -> list[str]:
        return list(self._repos)

    def languages(self) -> list[str]:
        return list(self._languages)

    # -- searching --------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, mode: str = "hybrid", repo: str | None = None,
               lang: str | None = None, path: str | None = None, offset: int = 0) -> SearchResult:
        """The k best functions for a query (after `offset` of them), fused, filtered and deduplicated."""
        t0 = time.perf_counter()
        q = self.check(query, k, mode, repo, lang, path, offset)
        filt = self.filter(repo, lang, path)
        depth = max(self.cfg.depth, 2 * (offset + k))
        stems = self.scorers["lexical"].stems(q) if "lexical" in self.scorers else set()
        stem = self.scorers["lexical"].lex.analyzer.analyze if stems else None
        fetched: dict[int, tuple[dict, list[int]]] = {}
        # while the other scorers run, fetch the first one's page: most of the fused page, usually
        lists = self.rank(q, self.cfg.modes[mode], depth, filt,
                          meanwhile=lambda first: self.fetch(first[0][offset: offset + k], stems, stem, fetched))
        ids, scores = self.collapse(*fuse(lists, self.cfg.fusion, q.kind, mode))
        score_of = dict(zip(ids.tolist(), scores.tolist()))
        hits = [Hit(id=r["id"], name=r["name"], repo=r["repo"], path=r["path"], start_line=r["start_line"],
                    end_line=r["end_line"], url=r["url"], language=r["language"], score=float(score_of[r["id"]]),
                    code=r["code"], desc=r["desc"], matched_lines=m)
                for r, m in self.fetch(ids[offset: offset + k], stems, stem, fetched)]
        return SearchResult(query=query, mode=mode, hits=hits, total=len(ids),
                            took_ms=round((time.perf_counter() - t0) * 1000, 3))

    def rank(self, q: ParsedQuery, names: tuple[str, ...], depth: int, filt: Filter | None,
             meanwhile=None) -> dict:
        """Each named scorer's top `depth` (ids, scores); all but the first on the thread pool.

        `meanwhile(first_list)` runs in the caller's thread while it waits for the pool's scorers.
        """
        if len(names) == 1 or self.cfg.scorer_threads <= 0:
            return {name: self.scorers[name].top(q, depth, filt) for name in names}
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.cfg.scorer_threads, thread_name_prefix="scorer")
        futures = {name: self._pool.submit(self.scorers[name].top, q, depth, filt) for name in names[1:]}
        first = self.scorers[names[0]].top(q, depth, filt)
        if meanwhile is not None:
            meanwhile(first)
        return {names[0]: first, **{name: f.result() for name, f in futures.items()}}

    def fetch(self, ids: np.ndarray, stems: set[str], stem, fetched: dict) -> list[tuple[dict, list[int]]]:
        """Records of `ids` (in order; unknown ids left out) with their matched lines, reusing `fetched`."""
        wanted = [int(i) for i in ids]
        missing = [i for i in wanted if i not in fetched]
        if missing:
            records = self.store.get(missing)
            # a line's match depends on its words alone, so codes may be matched in any grouping
            lines = matched_lines([r["code"] for r in records], stems, stem)
            fetched.update((r["id"], (r, m)) for r, m in zip(records, lines))
        return [fetched[i] for i in wanted if i in fetched]

    def score_all(self, query: str, mode: str = "hybrid") -> np.ndarray:
        """Scores (N,) of every indexed function for a query, aligned with ids(): for whole-pool evaluation."""
        q = self.check(query, 1, mode, None, None, None, 0)
        names = self.cfg.modes[mode]
        arrays = {name: self.scorers[name].score_all(q, self.rows().ids) for name in names}
        if len(names) == 1:
            # no evidence ranks below every scored item (a 0 would tie the whole pool with the gold)
            scores = arrays[names[0]].astype(np.float32)
            return np.where(np.isnan(scores), -np.inf, scores).astype(np.float32)
        return fuse_all(arrays, self.cfg.fusion, self.cfg.depth, q.kind, mode)

    def check(self, query, k, mode, repo, lang, path, offset) -> ParsedQuery:
        """Validate a request; QueryError with a message for the user when it cannot be served."""
        if not isinstance(query, str):
            raise QueryError("the query must be text")
        if not query.strip():
            raise QueryError("the query is empty: type what the code should do, e.g. 'read a json file'")
        if len(query) > self.cfg.max_query_chars:
            raise QueryError(f"the query is {len(query):,} characters long; the limit is {self.cfg.max_query_chars:,}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.cfg.max_k:
            raise QueryError(f"k must be a whole number from 1 to {self.cfg.max_k}, not {k!r}")
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or \
                not 0 <= offset <= self.cfg.max_offset:
            raise QueryError(f"offset must be a whole number from 0 to {self.cfg.max_offset}, not {offset!r}")
        if mode not in self.cfg.modes or any(s not in self.scorers for s in self.cfg.modes[mode]):
            why = " (best needs an index built with a distilled model)" if mode == "best" else ""
            raise QueryError(f"unknown mode {mode!r}{why}: choose one of {', '.join(self.modes())}")
        if repo is not None and repo not in self._repo_set:
            raise QueryError(f"unknown repository {repo!r}: {len(self._repos)} are indexed "
                             f"(e.g. {', '.join(self._repos[:3])})")
        if lang is not None and lang not in self._lang_set:
            raise QueryError(f"unknown language {lang!r}: the index holds {', '.join(self._languages)}")
        if path is not None and (not isinstance(path, str) or not path.strip() or len(path) > 500):
            raise QueryError("the path filter must be a glob such as 'json/*.py' (at most 500 characters)")
        return parse_query(query)

    def filter(self, repo, lang, path) -> Filter | None:
        """The cached Filter of these filter values (None without filters)."""
        if repo is None and lang is None and path is None:
            return None
        key = (repo, lang, path)
        with self._lock:
            filt = self._filters.get(key)
            if filt is not None:
                self._filters.move_to_end(key)
                return filt
        filt = Filter(repo, lang, path, self.store.filter_ids(repo, lang, path))
        with self._lock:
            self._filters[key] = filt
            while len(self._filters) > self.cfg.filter_cache:
                self._filters.popitem(last=False)
        return filt

    def collapse(self, ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keep the best-ranked of each group of near-duplicates (same code without comments/docstrings).

        Ids the store no longer holds (vectors of removed functions) are dropped too.
        """
        rows = self._rows
        if rows is not None:
            live, keys = rows.lookup(ids)
        else:   # a few hundred candidates: ask the store rather than read every row
            found = self.store.hashes(ids.tolist())
            live = np.fromiter((int(i) in found for i in ids), bool, len(ids))
            keys = np.fromiter((found.get(int(i), 0) for i in ids), np.int64, len(ids))
        ids, scores, keys = ids[live], scores[live], keys[live]
        if not self.cfg.collapse_duplicates or len(ids) < 2:
            return ids, scores
        _, first = np.unique(keys, return_index=True)  # first = best-ranked of each hash
        keep = np.sort(first)
        return ids[keep], scores[keep]


class RowTable:
    """Every live row id and its near-duplicate key, as arrays indexed by row id (one memory access a lookup)."""

    def __init__(self, store: Store):
        self.ids, hashes = store.ids_and_hashes()
        size = int(self.ids[-1]) + 1 if len(self.ids) else 0
        self.live = np.zeros(size, bool)
        self.live[self.ids] = True
        self.hash_of = np.zeros(size, np.int64)
        self.hash_of[self.ids] = hashes

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each id is a live row, its key) for candidate ids (vectors of removed rows included)."""
        known = (ids >= 0) & (ids < len(self.live))
        live = known.copy()
        live[known] = self.live[ids[known]]
        keys = np.zeros(len(ids), np.int64)
        keys[known] = self.hash_of[ids[known]]
        return live, keys


def teacher_queries(encoder, built: dict | None = None, loaded=None):
    """A query encoder for the teacher's code vectors in the index, or None when there are none.

    built: the teacher settings the index's manifest records (scope "none": no function has its vectors);
    loaded: a TeacherQueries already loaded, returned when it is the one this encoder asks for.
    """
    cfg = getattr(encoder, "teacher_config", None)
    if cfg is None or (built or {}).get("scope") == "none":
        return None
    from codenn.code_teacher import TeacherQueries
    fresh = TeacherQueries(cfg)
    # a sync's every generation would otherwise load the transformer again on its first `best` query
    return loaded if loaded is not None and loaded.identity == fresh.identity else fresh
