"""Connect to a Ray cluster for the batch pipeline's `--ray ADDRESS|auto` (imported only with that flag)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from codesearch_common.threads import thread_budget


@dataclass
class RayConfig:
    """Where the cluster is and how the stages use it."""

    address: str = "auto"          # `auto`: a new local cluster on 127.0.0.1; else a running cluster's address
    workers: int = 0               # concurrent tasks/actors (0: the cluster's CPUs)
    max_retries: int = 3           # a task whose worker died or raised is run again this many times
    preserve_order: bool = True    # results come back in input order: ids as in the single process


def connect(cfg: RayConfig):
    """ray.init for this address; a clear ValueError when Ray is missing or the cluster cannot be reached."""
    if cfg.address == "auto" or _loopback(cfg.address):
        # Ray's switch (despite its name) for a cluster on the loopback address: nothing listens outside
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install '.[distributed]'") from None
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    kwargs = {"ignore_reinit_error": True, "log_to_driver": False, "configure_logging": False}
    try:
        if cfg.address == "auto":
            # always a private cluster: attaching to whatever cluster another job left running on this
            # machine would share (and wait on) its workers; a running cluster is named by its address
            # as many CPUs as this process may use (not the machine's): each actor reserves one
            ray.init(address="local", include_dashboard=False, num_cpus=cfg.workers or thread_budget(), **kwargs)
        else:
            ray.init(address=cfg.address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ValueError(f"cannot reach the Ray cluster at {cfg.address!r}: {e}") from None
    return ray


def _loopback(address: str) -> bool:
    return address.split("://")[-1].rsplit(":", 1)[0] in ("127.0.0.1", "localhost")


def data_context(cfg: RayConfig):
    """Ray Data's context with ordered results and the progress bars on."""
    import ray.data
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = cfg.preserve_order
    ctx.enable_progress_bars = True
    return ctx


def worker_count(cfg: RayConfig) -> int:
    """How many workers to run: the configured number, else the cluster's CPUs."""
    import ray
    return cfg.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
