"""Which build `index build` runs: native or Milvus storage, in this process or with encoding on Ray."""
from __future__ import annotations

import os
from pathlib import Path


def milvus_config(uri: str | None, fusion: str):
    """The Milvus settings of the command line: a file URI is taken relative to the working directory."""
    from .backends.milvus import MilvusConfig, is_server
    if uri and not is_server(uri):
        uri = str(Path(uri).resolve())
    # no URI: a milvus-lite file inside the index folder, built and renamed with it
    return MilvusConfig(**({"uri": uri} if uri else {}), fusion=fusion, token=os.environ.get("MILVUS_TOKEN", ""),
                        index_type="HNSW" if uri and is_server(uri) else "FLAT")


def run_build(args, cfg, total: int, documented: int | None = None) -> dict:
    """Build the index the arguments ask for; its manifest.

    A native build weighs its progress bar by the teacher's work (`documented` records with a
    docstring) and keeps a status file beside the index for a web app serving the one it replaces.
    """
    from preprocess.csvio import read_functions
    from .build import build_index
    builder, extra = build_index, {"resume": True} if getattr(args, "resume", False) else {}
    if args.backend == "milvus" and extra:
        raise ValueError("--resume works with the native backend only")
    if args.backend != "milvus":
        extra.update(documented=documented, status=True)
    if args.backend == "milvus":
        from .backends.milvus_build import build_milvus_index
        builder, extra = build_milvus_index, {"mcfg": milvus_config(args.milvus_uri, args.milvus_fusion)}
    elif args.milvus_uri:
        raise ValueError("--milvus-uri needs --backend milvus")
    if args.ray:   # Ray is imported only here
        from codesearch_common.ray_cluster import RayConfig
        from .ray_build import build_index_ray
        return build_index_ray(args.functions, args.model, args.out, cfg, RayConfig(address=args.ray), total=total,
                               builder=builder, **extra)
    return builder(read_functions(args.functions), args.model, args.out, cfg, total=total, **extra)
