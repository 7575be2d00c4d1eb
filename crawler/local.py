"""Register local folders and git checkouts, or the default corpus (stdlib + site-packages)."""
from __future__ import annotations

import argparse
import os
import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from .manifest import RepoRecord, merge_records, read_manifest, write_manifest

# the stdlib's own test suites and Python-2 era fixtures: huge, noisy, not what users search
STDLIB_EXCLUDE = {"test", "tests", "idlelib", "lib2to3", "turtledemo", "site-packages", "__pycache__",
                  "ensurepip", "venv", "pydoc_data", "__phello__"}
SITE_EXCLUDE = {"__pycache__", "_distutils_hack", "pip", "setuptools", "pkg_resources", "_pytest"}
# compiled packages ship the C/C++ headers of what they bundle (torch alone ~9,300 `.h`): declarations
# of other projects, not the package's own source, so the venv's packages give their Python only
SITE_LANGUAGES = ["python"]
CLASSIFIER_SPDX = {
    "MIT License": "MIT", "BSD License": "BSD-3-Clause", "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0", "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0", "GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0", "The Unlicense (Unlicense)": "Unlicense",
}


def git_info(path: Path) -> tuple[str | None, str | None]:
    """Return (browsable remote URL, HEAD sha) of a git checkout, or (None, None)."""
    if not (path / ".git").exists():
        return None, None
    import git  # GitPython; imported here so plain folders never need it

    try:
        repo = git.Repo(path)
        sha = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, ValueError):
        return None, None
    url = None
    if repo.remotes:
        remote = (repo.remotes.origin if "origin" in repo.remotes else repo.remotes[0]).url
        url = browsable_url(remote)
    return url, sha


def browsable_url(remote: str) -> str:
    """Turn git@host:o/r.git or https://host/o/r.git into https://host/o/r."""
    m = re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?$", remote)
    if m:
        return f"https://{m.group(1)}/{m.group(2)}"
    return re.sub(r"\.git/?$", "", remote)


def local_record(path: str) -> RepoRecord:
    """Describe one user-given folder or git checkout."""
    p = Path(path).resolve()
    url, sha = git_info(p)
    return RepoRecord(name=f"local/{p.name}", source="local", url=url or p.as_uri(), sha=sha, path=str(p))


def distribution_licences() -> dict[str, str]:
    """Map each installed top-level package name to the SPDX id its distribution declares."""
    out = {}
    for dist in metadata.distributions():
        lic = spdx_from_metadata(dist.metadata)
        if not lic:
            continue
        tops = (dist.read_text("top_level.txt") or "").split()
        if not tops:
            tops = {Path(f.parts[0]).stem for f in (dist.files or []) if f.parts and not f.parts[0].endswith((".dist-info", ".data"))}
        for top in tops:
            out.setdefault(top, lic)
    return out


def spdx_from_metadata(md) -> str | None:
    """Read License-Expression, else a license classifier, else a short License field."""
    if md.get("License-Expression"):
        return md["License-Expression"].strip()
    for c in md.get_all("Classifier") or []:
        if c.startswith("License :: "):
            name = c.split(" :: ")[-1]
            if name in CLASSIFIER_SPDX:
                return CLASSIFIER_SPDX[name]
    lic = (md.get("License") or "").strip()
    return lic if lic and len(lic) <= 40 and "\n" not in lic else None


def top_level_entries(root: Path, exclude: set[str]) -> list[Path]:
    """Packages (folders with Python files) and single modules directly under root."""
    out = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in exclude or name.startswith(".") or name.endswith((".dist-info", ".egg-info", ".data")):
            continue
        if entry.is_dir() and any(entry.rglob("*.py")):
            out.append(entry)
        elif entry.is_file() and name.endswith(".py"):
            out.append(entry)
    return out


def default_corpus() -> list[RepoRecord]:
    """The Python standard library, this environment's site-packages, and where present Go's standard
    library and npm's JavaScript: one record per top-level package."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    version = "v{}.{}.{}".format(*sys.version_info[:3])
    records = [
        RepoRecord(name=f"stdlib/{e.stem if e.is_file() else e.name}", source="local",
                   url="https://github.com/python/cpython", sha=version, licence="PSF-2.0",
                   path=str(e), subdir="Lib" if e.is_file() else f"Lib/{e.name}")
        for e in top_level_entries(stdlib, STDLIB_EXCLUDE)
    ]
    site = Path(sysconfig.get_paths()["purelib"])
    licences = distribution_licences()
    for e in top_level_entries(site, SITE_EXCLUDE):
        name = e.stem if e.is_file() else e.name
        records.append(RepoRecord(name=f"site-packages/{name}", source="local",
                                  url=(e.parent if e.is_file() else e).as_uri(), licence=licences.get(name),
                                  path=str(e), extra={"languages": SITE_LANGUAGES}))
    from .toolchains import go_stdlib_records, npm_bundled_records

    return records + go_stdlib_records() + npm_bundled_records()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="folders or git checkouts to register")
    p.add_argument("--default", action="store_true",
                   help="register the standard library and site-packages (and Go's standard library and npm, where installed)")
    p.add_argument("--out", default="data/repos.jsonl", help="manifest to update")
    p.add_argument("--replace", action="store_true", help="start a new manifest instead of merging")


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.default:
        print("error: give folders to register, or --default for the standard library and site-packages", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not os.path.isdir(p)]
    if missing:
        print(f"error: not a folder: {missing[0]}", file=sys.stderr)
        return 2
    new = [local_record(p) for p in args.paths]
    if args.default:
        new += default_corpus()
    existing = [] if args.replace else read_manifest(args.out)
    records = merge_records(existing, new)
    write_manifest(args.out, records)
    print(f"{len(new)} repositories registered; {args.out} lists {len(records)}")
    return 0
