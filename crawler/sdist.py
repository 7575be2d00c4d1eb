"""Fetch one source distribution with pip, read its PKG-INFO, unpack it safely."""
from __future__ import annotations

import email.parser
import email.policy
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from codesearch_common.fsutil import atomic_dir

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*([^\s;,]+))?\s*$")


class SdistError(Exception):
    """A package could not be fetched or unpacked; the message is the manifest's reason."""


@dataclass
class PipConfig:
    """How pip is asked for a source distribution."""

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    build_isolation: bool = True
    timeout_s: float = 600.0


def canonical_name(requirement: str) -> tuple[str, str | None]:
    """Return (PEP 503 normalised name, pinned version or None) of `name` or `name==version`."""
    m = _REQUIREMENT.match(requirement)
    if not m:
        raise ValueError(f"not a package name or name==version: {requirement!r}")
    return re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2)


def index_options(cfg: PipConfig) -> list[str]:
    """pip's options saying where packages come from."""
    opts = ["--index-url", cfg.index_url] if cfg.index_url else []
    for url in cfg.extra_index_urls:
        opts += ["--extra-index-url", url]
    for link in cfg.find_links:
        opts += ["--find-links", link]
    return opts + (["--no-index"] if cfg.no_index else [])


def pip_command(requirement: str, dest: Path, cfg: PipConfig) -> list[str]:
    """Build the `pip download` command line for one requirement, without its dependencies."""
    # --no-binary names the package alone: ":all:" would also build its build backend from source
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", canonical_name(requirement)[0],
           "--dest", str(dest), "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    cmd += index_options(cfg)
    if not cfg.build_isolation:
        cmd.append("--no-build-isolation")
    return cmd + [requirement]


def run_pip(cmd: list[str], dest: Path, cfg: PipConfig, suffixes: tuple[str, ...], kind: str) -> Path:
    """Run a `pip download` into the empty folder `dest`; the one file it left with one of `suffixes`."""
    dest.mkdir(parents=True, exist_ok=True)
    # a session of its own, so a timeout kills pip's build-backend children too
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=cfg.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SdistError(f"pip download timed out after {cfg.timeout_s:g} s") from None
    if proc.returncode != 0:
        raise SdistError(f"pip download failed: {pip_error(out)}")
    files = [p for p in dest.iterdir() if p.name.endswith(suffixes)]
    if len(files) != 1:
        raise SdistError(f"pip download left {len(files)} {kind}, expected 1")
    return files[0]


def pip_download(requirement: str, dest: Path, cfg: PipConfig) -> Path:
    """Download the sdist of `requirement` into the empty folder `dest` and return its path."""
    return run_pip(pip_command(requirement, dest, cfg), dest, cfg, SDIST_SUFFIXES, "source distributions")


def pip_error(output: str) -> str:
    """Condense pip's output to one line: its error, and for a failed build step the step and its cause."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [re.sub(r"^(ERROR|error):\s*", "", ln) for ln in lines if ln.startswith(("ERROR:", "error:"))]
    step = next((ln.lstrip("× ").strip() for ln in lines if ln.startswith("×")), None)
    if step and "[end of output]" in lines:
        # the build backend's own output sits between "╰─> [N lines of output]" and "[end of output]"
        start = next((i for i, ln in enumerate(lines) if ln.startswith("╰─> [")), -1) + 1
        box = lines[start:lines.index("[end of output]")]
        cause = next((ln for ln in box if ln.lower().startswith("error")), box[-1] if box else "")
        return f"{errors[-1] if errors else 'error'}: {step} {cause}".strip()[:400]
    if errors:
        return errors[0][:400]
    return (lines[-1] if lines else "pip exited with no output")[:400]


def _members(archive: Path) -> tuple[str, list[tuple[str, int]]]:
    """Return the archive's single top-level folder and its (name, size) members."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            members = [(i.filename, i.file_size) for i in z.infolist()]
    else:
        with tarfile.open(archive) as t:
            members = [(m.name, m.size) for m in t.getmembers()]
    tops = {name.lstrip("./").split("/", 1)[0] for name, _ in members if name.lstrip("./")}
    if len(tops) != 1:
        raise SdistError(f"{archive.name}: expected one top-level folder, found {len(tops)}")
    return tops.pop(), members


def read_pkg_info(archive: Path) -> Message:
    """Parse the PKG-INFO at the root of a source distribution."""
    try:
        top, members = _members(archive)
        names = [n for n, _ in members if n.lstrip("./") == f"{top}/PKG-INFO"]
        if not names:
            raise SdistError(f"{archive.name}: no PKG-INFO at its root")
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                raw = z.read(names[0])
        else:
            with tarfile.open(archive) as t:
                f = t.extractfile(names[0])
                raw = f.read() if f else b""
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as e:
        raise SdistError(f"{archive.name}: unreadable archive ({e})") from None
    text = raw.decode("utf-8", errors="replace")
    return email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)


def unpack(archive: Path, dest: Path, max_mb: float) -> None:
    """Unpack an sdist's top-level folder as `dest` (atomically), refusing unsafe or oversized archives."""
    top, members = _members(archive)
    total = sum(size for _, size in members)
    if total > max_mb * 1e6:
        raise SdistError(f"unpacks to {total / 1e6:.0f} MB, over the {max_mb:g} MB cap")
    try:
        with atomic_dir(dest) as tmp:
            staging = tmp / ".unpack"
            if archive.name.endswith(".zip"):
                _unzip(archive, staging)
            else:
                with tarfile.open(archive) as t:
                    # the "data" filter refuses absolute paths, links out of the tree and device files
                    t.extractall(staging, filter="data")
            for child in (staging / top).iterdir():
                os.replace(child, tmp / child.name)
            shutil.rmtree(staging)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as e:
        raise SdistError(f"{archive.name}: cannot unpack ({e})") from None


def _unzip(archive: Path, staging: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            parts = Path(info.filename).parts
            if Path(info.filename).is_absolute() or ".." in parts:
                raise SdistError(f"{archive.name}: unsafe path {info.filename!r}")
        z.extractall(staging)
