"""Run untrusted programs in a sandbox: own folder, rlimits, scrubbed env, no network, no stragglers.

Each `Sandbox.run` gets a fresh temporary folder and runs a list of steps in it (compile, then run).
Every process starts in its own session with CPU/memory/file-size/open-file limits, a wall-clock
timeout and a minimal environment. Where the platform allows it, they also get:
- a private network namespace (no interfaces but a downed loopback: sockets cannot reach anything);
- when the harness runs as root, an unprivileged uid of their own per worker slot, so that
  RLIMIT_NPROC bounds fork bombs, files outside the sandbox cannot be deleted, and `kill(-1)` as
  that uid removes every straggler at the end, even ones that left the session.
Build steps run as the sandbox uid too, except those marked `as_invoker`: compilers the sandbox
uid cannot reach (rustc under /root) or that write a shared cache (Go's); they never execute the
program under test.
"""
from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from codegen import sandbox_os as osx
from codegen.limits import Limits
from codegen.sandbox_os import SandboxError  # noqa: F401 - part of this module's API


@dataclass
class SandboxConfig:
    """Where and how programs run; limits for build steps and for the program itself."""

    run: Limits = field(default_factory=Limits)
    build: Limits = field(default_factory=lambda: Limits(
        timeout_s=60.0, memory_mb=4096, address_space_mb=None, output_bytes=256 << 20,
        processes=512, open_files=1024))
    slots: int = 2  # concurrent runs; each slot gets its own uid when dropping privileges
    isolate_network: bool = True
    drop_privileges: bool = True  # only meaningful as root
    uid_base: int = 61000  # slots run as the first free uids from here (no account, no processes)
    lock_dir: str | None = None  # uid claim locks (default ~/.cache/codegen-sandbox)
    tmp_root: str | None = None  # parent of the per-run folders (default: the system temp dir)


@dataclass
class Step:
    """One command of a run: argv, extra environment, build or run, and as whom."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    build: bool = False  # a compiler: build limits; a failure is a compile_error
    as_invoker: bool = False  # run as the invoking user, not the sandbox uid (see module doc)
    limits: Limits | None = None  # None: the config's run/build limits
    expect_stdout: bytes | None = None  # success also needs this in stdout (tests ran to the end)


@dataclass
class Outcome:
    """How a run ended: status is passed, failed, timeout, compile_error or output_limit."""

    status: str
    returncode: int | None = None
    detail: str = ""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        """Return whether every step succeeded."""
        return self.status == "passed"


@dataclass
class _StepResult:
    returncode: int | None
    timed_out: bool
    output_limited: bool
    stdout: bytes
    stderr: bytes


def _read_capped(f, cap: int) -> tuple[bytes, bool]:
    """Return up to `cap` bytes of a finished output file and whether it hit the cap."""
    f.flush()
    size = os.fstat(f.fileno()).st_size
    f.seek(0)
    return f.read(cap), size >= cap


class Sandbox:
    """Run programs from source in isolated temporary folders, several at a time."""

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        is_root = os.geteuid() == 0
        self.uid_isolation = bool(is_root and self.config.drop_privileges
                                  and osx.probe_setuid(self.config.uid_base))
        self._uids: list[int] = []
        self._uid_locks: list = []
        if self.uid_isolation:
            lock_dir = Path(self.config.lock_dir or Path.home() / ".cache" / "codegen-sandbox")
            self._uids, self._uid_locks = osx.claim_uids(self.config.uid_base, max(1, self.config.slots),
                                                      lock_dir)
        self.network_isolation = bool(self.config.isolate_network and osx.probe_netns(not is_root))
        self._netns_flags = 0
        if self.network_isolation:
            self._netns_flags = osx.CLONE_NEWNET | (0 if is_root else osx.CLONE_NEWUSER)
        self.subreaper = osx.set_subreaper()
        self._slots: queue.Queue[int] = queue.Queue()
        for i in range(max(1, self.config.slots)):
            self._slots.put(i)
        self._spawn_lock = threading.Lock()
        self._live: set[int] = set()

    def capabilities(self) -> dict[str, bool]:
        """Return which isolation features are active on this platform."""
        return {"uid_isolation": self.uid_isolation, "network_isolation": self.network_isolation,
                "subreaper": self.subreaper}

    def run(self, files: dict[str, str | bytes], steps: list[Step]) -> Outcome:
        """Write `files` to a fresh folder and run `steps` there in order; stop at the first failure."""
        slot = self._slots.get()
        uid = self._uids[slot] if self.uid_isolation else None
        workdir = Path(tempfile.mkdtemp(prefix="codegen-run-", dir=self.config.tmp_root))
        start = time.monotonic()
        try:
            for name, content in files.items():
                path = workdir / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content.encode() if isinstance(content, str) else content)
            for step in steps:
                step_uid = None if step.as_invoker else uid
                if step_uid is not None:
                    os.chown(workdir, step_uid, step_uid)
                res = self._run_step(step, workdir, step_uid)
                outcome = self._judge(step, res)
                if outcome is not None:
                    outcome.duration_s = time.monotonic() - start
                    return outcome
            return Outcome("passed", 0, duration_s=time.monotonic() - start)
        finally:
            if uid is not None:
                osx.clean_shared_tmp(uid)
            shutil.rmtree(workdir, ignore_errors=True)
            self._slots.put(slot)

    @staticmethod
    def _judge(step: Step, res: _StepResult) -> Outcome | None:
        """Return the failure outcome of a step, or None when it succeeded."""
        out = res.stderr.strip() or res.stdout.strip()
        # The head names the error in most runtimes, the tail in Python tracebacks: keep both.
        tail = (out if len(out) <= 2000 else out[:1000] + b"\n...\n" + out[-1000:]).decode("utf-8", "replace")
        if res.timed_out:
            return Outcome("timeout", None, f"{step.argv[0]}: wall-clock limit exceeded")
        if step.build and res.returncode != 0:
            return Outcome("compile_error", res.returncode, tail)
        if res.output_limited:
            return Outcome("output_limit", res.returncode, "output exceeded the limit")
        if res.returncode != 0:
            if res.returncode < 0:
                tail = f"killed by {signal.Signals(-res.returncode).name}\n{tail}"
            return Outcome("failed", res.returncode, tail)
        if step.expect_stdout is not None and step.expect_stdout not in res.stdout:
            return Outcome("failed", 0, f"exited 0 before its tests finished\n{tail}")
        return None

    def _run_step(self, step: Step, workdir: Path, uid: int | None) -> _StepResult:
        """Run one command under limits; kill everything it left behind afterwards."""
        cfg = self.config
        limits = step.limits or (cfg.build if step.build else cfg.run)
        token = secrets.token_hex(8)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
               "LANG": "C.UTF-8", osx.TOKEN_VAR: token, **step.env}
        netns = self._netns_flags
        nproc = limits.processes
        if uid is None:
            # Root ignores RLIMIT_NPROC; for other users it counts all their processes.
            me = os.getuid()
            nproc = None if me == 0 else osx.user_process_count(me) + limits.processes
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            with self._spawn_lock:
                try:
                    proc = subprocess.Popen(
                        step.argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                        stderr=err, start_new_session=True, close_fds=True,
                        preexec_fn=osx.child_setup(limits, uid, netns, nproc))
                except (OSError, subprocess.SubprocessError) as e:
                    raise SandboxError(f"cannot start {step.argv[0]}: {e}") from e
                self._live.add(proc.pid)
            timed_out = False
            try:
                proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                self._kill_all(proc.pid, uid, token)
                proc.wait()
                with self._spawn_lock:
                    self._live.discard(proc.pid)
                self._settle(uid)
            stdout, lim_out = _read_capped(out, limits.output_bytes)
            stderr, lim_err = _read_capped(err, limits.output_bytes)
        return _StepResult(proc.returncode, timed_out, lim_out or lim_err, stdout, stderr)

    def _kill_all(self, pgid: int, uid: int | None, token: str) -> None:
        """Kill the step's process group, then anything that escaped it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if uid is not None:
            osx.kill_uid(uid)
        else:
            osx.kill_token(token)

    def _reap_orphans(self) -> None:
        """Reap killed stragglers adopted as subreaper, leaving live children to Popen."""
        if self.subreaper:
            with self._spawn_lock:
                osx.reap_zombie_children(self._live, set(self._uids) if self.uid_isolation else None)

    def _settle(self, uid: int | None) -> None:
        """Wait until a sandbox uid owns no process at all: kill again, reap, for up to 2 s.

        SIGKILL is asynchronous and a dying fork bomb hands its children to us one by one.
        """
        if uid is None:
            self._reap_orphans()
            return
        for _ in range(100):
            self._reap_orphans()
            alive, zombies = osx.uid_processes(uid)
            if not alive and not zombies:
                return
            if alive:
                osx.kill_uid(uid)
            time.sleep(0.02)
