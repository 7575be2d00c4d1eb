"""Code that language toolchains put on every machine of ours: Go's standard library and npm's JavaScript."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .manifest import RepoRecord
from .npm import licence_of, repository_url

# Go's own tests and test fixtures are not what users search (the Python stdlib's are left out too)
GO_EXCLUDE = ["*_test.go", "testdata/"]
GO_SPLIT = {"cmd"}   # folders big enough to be one repository per child (cmd/compile, cmd/go, ...)


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def go_root() -> Path | None:
    """GOROOT of the `go` on PATH (or $GOROOT), when it holds the standard library's source."""
    root = os.environ.get("GOROOT") or _run(["go", "env", "GOROOT"])
    return Path(root) if root and (Path(root) / "src" / "fmt").is_dir() else None


def go_stdlib_records(root: Path | None = None) -> list[RepoRecord]:
    """One record per top-level package of Go's standard library (`go/net`, `go/cmd/compile`, ...)."""
    root = root or go_root()
    if root is None:
        return []
    version_file = root / "VERSION"
    version = version_file.read_text().split()[0] if version_file.is_file() else (_run(["go", "env", "GOVERSION"]) or None)
    src = root / "src"
    dirs = []
    for d in sorted(p for p in src.iterdir() if p.is_dir() and p.name not in ("vendor", "testdata")):
        dirs.extend(sorted(c for c in d.iterdir() if c.is_dir() and c.name != "vendor") if d.name in GO_SPLIT else [d])
    return [RepoRecord(name=f"go/{d.relative_to(src).as_posix()}", source="local", url="https://github.com/golang/go",
                       sha=version, licence="BSD-3-Clause", path=str(d), subdir=f"src/{d.relative_to(src).as_posix()}",
                       version=version, extra={"exclude": GO_EXCLUDE})
            for d in dirs if any(d.rglob("*.go"))]


def npm_dir() -> Path | None:
    """The folder of the npm that is on PATH (its own code and the packages it bundles)."""
    npm = shutil.which("npm")
    candidates = [Path(os.path.realpath(npm)).parent.parent] if npm else []
    root = _run(["npm", "root", "-g"])
    if root:
        candidates.append(Path(root) / "npm")
    return next((c for c in candidates if (c / "package.json").is_file() and (c / "lib").is_dir()), None)


def _package_record(path: Path, pkg: dict) -> RepoRecord:
    name = str(pkg.get("name") or path.name).lower()
    return RepoRecord(name=f"npm/{name}", source="local", url=repository_url(pkg, name), licence=licence_of(pkg),
                      version=str(pkg.get("version") or "") or None, path=str(path))


def npm_bundled_records(root: Path | None = None) -> list[RepoRecord]:
    """npm itself (`npm/npm`, linked at its release tag) and each package it bundles, one record each."""
    root = root or npm_dir()
    if root is None:
        return []
    records = []
    pkg = json.loads((root / "package.json").read_text(encoding="utf-8"))
    own = _package_record(root, pkg)
    if own.version and own.url.startswith("https://github.com/"):
        own.sha = f"v{own.version}"      # npm's tarball lays out lib/ as the repository does
    records.append(own)
    modules = root / "node_modules"
    dirs = sorted(modules.glob("*/")) if modules.is_dir() else []
    for d in dirs:
        for p in (sorted(d.glob("*/")) if d.name.startswith("@") else [d]):
            meta = p / "package.json"
            if meta.is_file():
                try:
                    records.append(_package_record(p, json.loads(meta.read_text(encoding="utf-8"))))
                except (ValueError, OSError):
                    continue
    return records
