"""Shallow-clone one repository with GitPython under a time limit and a size cap; return its HEAD sha."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import git


class CloneError(Exception):
    """A clone failed; the message is the manifest's reason."""


@dataclass
class CloneConfig:
    """Limits on one clone."""

    depth: int = 1
    timeout_s: float = 300.0
    max_mb: float = 500.0     # checked while the clone runs and once it is done
    poll_s: float = 0.5


def dir_bytes(path: Path) -> int:
    """Total size of the files under path (links not followed)."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    else:
                        total += e.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            pass  # git renames and removes files while it works
    return total


def head_sha(path: Path) -> str | None:
    """HEAD commit of a checkout, or None when path is not a usable git repository."""
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    try:
        return repo.head.commit.hexsha
    except ValueError:  # an empty repository has no HEAD commit
        return None
    finally:
        repo.close()


def clone(url: str, dest: Path, cfg: CloneConfig) -> str:
    """Clone url into dest (which must not exist) and return the HEAD sha; raise CloneError on failure.

    The clone goes to a sibling `.NAME.partial` folder renamed into place only when it is complete,
    so a crawl killed mid-clone leaves no half checkout that looks finished.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = ["git", "clone", f"--depth={cfg.depth}", "--single-branch", "--no-tags", "--quiet",
           "--", url, str(partial)]
    # never prompt for credentials (a private or deleted repository must fail, not hang); skip LFS blobs
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "GCM_INTERACTIVE": "never"}
    handle = git.Git().execute(cmd, as_process=True, env=env, start_new_session=True)
    proc: subprocess.Popen = handle.proc
    try:
        err = _wait(proc, partial, cfg)
        if proc.returncode != 0:
            raise CloneError(f"git clone failed: {_last_line(err)}")
        size = dir_bytes(partial)
        if size > cfg.max_mb * 1e6:
            raise CloneError(f"checkout is {size / 1e6:.0f} MB, over the {cfg.max_mb:g} MB cap")
        sha = head_sha(partial)
        if sha is None:
            raise CloneError("cloned repository has no commit")
        os.replace(partial, dest)
        return sha
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _wait(proc: subprocess.Popen, partial: Path, cfg: CloneConfig) -> str:
    """Wait for git, killing it past the time limit or the size cap; return its stderr."""
    start = time.monotonic()
    while True:
        try:
            _, err = proc.communicate(timeout=cfg.poll_s)
            return err.decode("utf-8", "replace") if isinstance(err, bytes) else (err or "")
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() - start > cfg.timeout_s:
            _kill(proc)
            raise CloneError(f"clone timed out after {cfg.timeout_s:g} s")
        size = dir_bytes(partial)
        if size > cfg.max_mb * 1e6:
            _kill(proc)
            raise CloneError(f"clone passed the {cfg.max_mb:g} MB cap ({size / 1e6:.0f} MB so far)")


def _kill(proc: subprocess.Popen) -> None:
    """Kill git and its helpers (remote transports, ssh) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no message")[:300]
