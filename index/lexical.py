"""The lexical index: BM25 over name tokens, docstrings and the words of the code, in tantivy (block-max WAND)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import tantivy
from tantivy import Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer

from .analysis import lexical_fields

TEXT_FIELDS = ("name", "doc", "code")
ANALYZER = "code"


@dataclass
class LexicalConfig:
    """BM25 field weights and the writer's resources."""

    # chosen on cosqa-dev (benchmarks/quality/index_fusion.py): MRR 0.361 vs 0.273 for three equal fields
    boosts: dict[str, float] = field(default_factory=lambda: {"name": 0.5, "doc": 0.5, "code": 1.0})
    stemmer: str = "english"
    heap_bytes: int = 200_000_000
    threads: int = 1        # the machine has 2 cores, shared with the encoder

    def __post_init__(self):
        unknown = set(self.boosts) - set(TEXT_FIELDS)
        if unknown:
            raise ValueError(f"lexical.boosts: unknown fields {sorted(unknown)} (fields: {', '.join(TEXT_FIELDS)})")


def analyzer(cfg: LexicalConfig) -> tantivy.TextAnalyzer:
    """Whitespace split + lowercase + stemming: the text is already split into identifier words."""
    b = TextAnalyzerBuilder(Tokenizer.whitespace()).filter(Filter.lowercase())
    if cfg.stemmer:
        b = b.filter(Filter.stemmer(cfg.stemmer))
    return b.build()


def schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=False, indexed=True, fast=True)
    for name in TEXT_FIELDS:
        # BM25 needs term frequencies, not positions: 'freq' keeps the index small
        sb.add_text_field(name, stored=False, tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field("repo", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("language", stored=False, tokenizer_name="raw", index_option="basic")
    return sb.build()


class LexicalIndex:
    """A tantivy index whose documents carry the store's row id as the integer field `id`."""

    def __init__(self, path: str | Path, cfg: LexicalConfig | None = None, create: bool = False):
        self.path = Path(path)
        self.cfg = cfg or LexicalConfig()
        if create:
            self.path.mkdir(parents=True, exist_ok=False)
        elif not (self.path / "meta.json").exists():
            raise FileNotFoundError(f"{self.path} holds no lexical index")
        self.schema = schema()
        self.index = tantivy.Index(self.schema, str(self.path), reuse=not create)
        self.analyzer = analyzer(self.cfg)
        self.index.register_tokenizer(ANALYZER, self.analyzer)
        self._writer = None
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------
    def writer(self):
        if self._writer is None:
            self._writer = self.index.writer(self.cfg.heap_bytes, self.cfg.threads)
        return self._writer

    def add(self, records: Iterable[dict]) -> None:
        """Add records (dicts with `id` and the functions.csv fields); call commit() to publish."""
        w = self.writer()
        for r in records:
            doc = tantivy.Document()
            doc.add_integer("id", int(r["id"]))
            for name, text in lexical_fields(r).items():
                if text:
                    doc.add_text(name, text)
            doc.add_text("repo", r.get("repo") or "")
            doc.add_text("language", r.get("language") or "")
            w.add_document(doc)

    def delete(self, ids: Sequence[int]) -> None:
        """Delete the documents of these row ids; call commit() to publish."""
        w = self.writer()
        for i in ids:
            w.delete_documents_by_term("id", int(i))

    def abort(self) -> None:
        """Drop uncommitted changes and stop the writer's threads (before its folder is deleted)."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer.wait_merging_threads()
            self._writer = None

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.index.reload()

    # -- reading ---------------------------------------------------------------------------------
    def stems(self, terms: Sequence[str]) -> list[str]:
        """Index terms of query words: the same analyzer as the documents, duplicates dropped."""
        return list(dict.fromkeys(self.analyzer.analyze(" ".join(terms)))) if terms else []

    def query(self, terms: Sequence[str], repo: str | None = None, language: str | None = None):
        """A BM25 disjunction of the terms over the text fields, built term by term (never parsed)."""
        shoulds = []
        for stem in self.stems(terms):
            for name in TEXT_FIELDS:
                boost = self.cfg.boosts.get(name, 1.0)
                if boost <= 0:
                    continue
                q = Query.term_query(self.schema, name, stem, index_option="freq")
                shoulds.append((Occur.Should, q if boost == 1.0 else Query.boost_query(q, boost)))
        if not shoulds:
            return None
        q = Query.boolean_query(shoulds)
        musts = [(f, v) for f, v in (("repo", repo), ("language", language)) if v]
        if musts:
            q = Query.boolean_query([(Occur.Must, q)] + [
                (Occur.Must, Query.const_score_query(Query.term_query(self.schema, f, v), 0.0)) for f, v in musts])
        return q

    def top(self, terms: Sequence[str], n: int, repo: str | None = None,
            language: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row ids (int64) and BM25 scores (float32) of the n best documents, best first."""
        q = self.query(terms, repo, language)
        if q is None or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        searcher = self.index.searcher()
        hits = searcher.search(q, limit=n, count=False).hits
        if not hits:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids = np.asarray(searcher.fast_field_values("id", [a for _, a in hits]), np.int64)
        scores = np.asarray([s for s, _ in hits], np.float32)
        order = np.lexsort((ids, -scores))  # ties by id, not by segment order: updates don't reorder them
        return ids[order], scores[order]

    def num_docs(self) -> int:
        return self.index.searcher().num_docs
