"""Build an index folder whose vectors and BM25 text live in a Milvus collection (records stay in SQLite)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from codesearch_common.fsutil import atomic_dir
from ..build import build_stats, configure_teacher, ingest, new_manifest, record_id
from ..encoders import limit_torch_threads, load_encoder
from ..manifest import STORE, IndexConfig, write_manifest
from ..store import Store
from .milvus import (MilvusConfig, MilvusWriter, collection_name, connect, create_collection,
                     disconnect, resolve_uri)


def build_milvus_index(records: Iterable[dict], model_dir, out_dir: str | Path, cfg: IndexConfig | None = None,
                       mcfg: MilvusConfig | None = None, *, encoder=None, total: int | None = None) -> dict:
    """Index records into out_dir (store + manifest) and a Milvus collection; return the manifest."""
    cfg, mcfg = cfg or IndexConfig(), mcfg or MilvusConfig()
    encoder = encoder if encoder is not None else load_encoder(model_dir)
    limit_torch_threads(cfg.torch_threads)
    total = len(records) if hasattr(records, "__len__") else total
    teacher = configure_teacher(encoder, cfg, total)
    name = collection_name(mcfg)
    t0 = time.perf_counter()
    with atomic_dir(out_dir) as tmp:
        uri = resolve_uri(mcfg.uri, tmp)
        client = connect(uri, mcfg.token)
        store = None
        try:
            create_collection(client, name, encoder.dim, mcfg)
            store = Store(tmp / STORE, create=True, compress=cfg.compress_code)
            writer = MilvusWriter(client, name, mcfg)
            n, enc_s = ingest(records, store, writer, encoder, cfg, record_id, writer.sink, total)
            if not n:
                raise ValueError("no functions to index: the records are empty")
            store.commit()
            load_s = writer.finish()
            manifest = milvus_manifest(encoder, model_dir, cfg, store, {**mcfg.manifest(), "collection": name})
            if teacher is not None:
                manifest["model"]["teacher"] = teacher
            manifest["build"] = build_stats(n, enc_s, load_s, t0)
            write_manifest(tmp, manifest)
        except BaseException:
            if client.has_collection(name):   # a server keeps collections outside the folder
                client.drop_collection(name)
            raise
        finally:
            if store is not None:
                store.close()
            disconnect(client, uri)   # milvus-lite lets go of its file before the folder is renamed
    return manifest


def milvus_manifest(encoder, model_dir, cfg: IndexConfig, store: Store, backend: dict) -> dict:
    """new_manifest with the collection in place of the native vector and lexical files."""
    return new_manifest(encoder, model_dir, cfg, store, None, backend=backend,
                        lexical={"engine": "milvus-bm25", "collection": backend["collection"]},
                        vectors={"kind": f"milvus-{backend['index_type'].lower()}", "ntotal": store.count(),
                                 "tombstones": 0})
