"""Linux process plumbing for the sandbox: namespaces, rlimits, uids, straggler sweeps, reaping."""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import math
import os
import pwd
import resource
import shutil
import signal
import subprocess
from pathlib import Path

from codegen.limits import Limits

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
TOKEN_VAR = "CODEGEN_SANDBOX"
_SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")
_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    """The sandbox itself could not run a step (not a fault of the program under test)."""


def set_subreaper() -> bool:
    """Make this process adopt orphaned descendants, so that we can reap killed stragglers."""
    return _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def probe_netns(user_ns: bool) -> bool:
    """Return whether a child can enter a fresh network namespace here."""
    flags = CLONE_NEWNET | (CLONE_NEWUSER if user_ns else 0)

    def enter():
        if _libc.unshare(flags) != 0:
            os._exit(97)  # noqa: SLF001 - exit before exec so that the parent sees the failure

    true = shutil.which("true") or "/bin/true"
    try:
        return subprocess.run([true], preexec_fn=enter, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def probe_setuid(uid: int) -> bool:
    """Return whether a child can switch to `uid`."""
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    true = shutil.which("true") or "/bin/true"
    try:
        return subprocess.run([true], preexec_fn=drop, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def claim_uids(base: int, count: int, lock_dir: Path) -> tuple[list[int], list]:
    """Claim `count` uids from `base` up: no account, no processes, and a lock no one else holds.

    The locks (flock, released when this process exits) keep concurrent harnesses apart.
    """
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    owners = set()
    for pid in pids():
        with contextlib.suppress(OSError):
            owners.add(os.stat(f"/proc/{pid}").st_uid)
    uids, locks = [], []
    for uid in range(base, base + 4096):
        if len(uids) == count:
            break
        if uid in owners:
            continue
        with contextlib.suppress(KeyError):
            pwd.getpwuid(uid)
            continue
        f = open(lock_dir / f"{uid}.lock", "w")  # noqa: SIM115 - held open for the sandbox's life
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        uids.append(uid)
        locks.append(f)
    if len(uids) < count:
        raise SandboxError(f"could not claim {count} free sandbox uids from {base}")
    return uids, locks


def accessible_to_others(path: str | os.PathLike) -> bool:
    """Return whether a user with no special rights can execute `path` (all parents searchable)."""
    real = Path(os.path.realpath(path))
    try:
        if not os.stat(real).st_mode & 0o001:
            return False
        return all(os.stat(parent).st_mode & 0o001 for parent in real.parents)
    except OSError:
        return False


def user_process_count(uid: int) -> int:
    """Count the processes (threads included) owned by `uid`, for a relative RLIMIT_NPROC."""
    n = 0
    for pid in pids():
        with contextlib.suppress(OSError):
            st = os.stat(f"/proc/{pid}")
            if st.st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
    return n


def pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def child_setup(limits: Limits, uid: int | None, netns_flags: int, nproc: int | None):
    """Build the function the forked child runs before exec: namespaces, limits, identity."""
    cpu = math.ceil(limits.timeout_s) + 1
    mem = limits.memory_mb << 20
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_DATA, (mem, mem)),
        (resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes)),
        (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if limits.address_space_mb is not None:
        space = limits.address_space_mb << 20
        settings.append((resource.RLIMIT_AS, (space, space)))
    if nproc is not None:
        settings.append((resource.RLIMIT_NPROC, (nproc, nproc)))

    def setup():
        if netns_flags and _libc.unshare(netns_flags) != 0:
            os._exit(97)  # noqa: SLF001 - never run without the isolation we promised
        for what, value in settings:
            resource.setrlimit(what, value)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        # Set after setuid, which clears it: the child dies with the thread that started it.
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # Python ignores SIGPIPE/SIGXFSZ and children inherit that; restore the defaults.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)

    return setup


def kill_uid(uid: int) -> None:
    """Kill every process of `uid` with kill(-1) sent as that uid (atomic against forks)."""
    def sweep():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.kill(-1, signal.SIGKILL)
        os._exit(0)  # noqa: SLF001 - the sweep is done; exec would only fail under NPROC

    true = shutil.which("true") or "/bin/true"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([true], preexec_fn=sweep, timeout=10)



def kill_token(token: str) -> None:
    """Kill processes that carry this step's environment token (best effort, same user)."""
    needle = f"{TOKEN_VAR}={token}\0".encode()
    for _ in range(3):
        found = False
        for pid in pids():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if needle in f.read():
                        os.kill(pid, signal.SIGKILL)
                        found = True
            except OSError:
                continue
        if not found:
            return



def uid_processes(uid: int) -> tuple[int, int]:
    """Return how many processes `uid` owns: (alive, zombies)."""
    alive = zombies = 0
    for pid in pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2:].split()[0] == b"Z":
            zombies += 1
        else:
            alive += 1
    return alive, zombies


def reap_zombie_children(skip: set[int], owners: set[int] | None) -> None:
    """Reap zombies whose parent is this process (adopted as subreaper), except pids in `skip`.

    With `owners`, only zombies owned by those uids: other children belong to other code.
    """
    me = os.getpid()
    for pid in pids():
        if pid in skip:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            owner = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] != b"Z" or int(fields[1]) != me or (owners is not None and owner not in owners):
            continue
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def clean_shared_tmp(uid: int) -> None:
    """Delete what the sandbox uid left in world-writable temp folders."""
    for root in _SHARED_TMP:
        with contextlib.suppress(OSError):
            for entry in os.scandir(root):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
