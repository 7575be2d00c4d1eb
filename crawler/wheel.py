"""Fetch one wheel with pip (`--only-binary :all:`, seconds a package), read its METADATA, unpack it.

Wheels need no build step, so they work offline where an sdist's build backend would not; what a
wheel holds is the installed package (its top-level modules plus `*.dist-info/`), which is what
the extractor reads from site-packages too.
"""
from __future__ import annotations

import email.parser
import email.policy
import sys
import zipfile
from email.message import Message
from pathlib import Path

from codesearch_common.fsutil import atomic_dir
from .sdist import PipConfig, SdistError, canonical_name, index_options, run_pip


def wheel_command(requirement: str, dest: Path, cfg: PipConfig) -> list[str]:
    """The `pip download` command line for one requirement's wheel, without its dependencies."""
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest", str(dest),
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off", *index_options(cfg), requirement]


def download_wheel(requirement: str, dest: Path, cfg: PipConfig) -> Path:
    """Download the wheel of `requirement` into the empty folder `dest` and return its path."""
    return run_pip(wheel_command(requirement, dest, cfg), dest, cfg, (".whl",), "wheels")


def dist_info(z: zipfile.ZipFile, archive: Path) -> str:
    """The wheel's `NAME-VERSION.dist-info` folder (PEP 427: exactly one at the root)."""
    tops = {n.split("/", 1)[0] for n in z.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
    if len(tops) != 1:
        raise SdistError(f"{archive.name}: expected one .dist-info folder, found {len(tops)}")
    return tops.pop()


def read_wheel_metadata(archive: Path) -> Message:
    """Parse the METADATA of a wheel."""
    try:
        with zipfile.ZipFile(archive) as z:
            raw = z.read(f"{dist_info(z, archive)}/METADATA")
    except KeyError:
        raise SdistError(f"{archive.name}: no METADATA in its .dist-info") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise SdistError(f"{archive.name}: unreadable wheel ({e})") from None
    return email.parser.HeaderParser(policy=email.policy.compat32).parsestr(raw.decode("utf-8", "replace"))


def unpack_wheel(archive: Path, dest: Path, max_mb: float) -> None:
    """Unpack a wheel as `dest` (atomically), refusing unsafe paths and oversized archives."""
    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            if total > max_mb * 1e6:
                raise SdistError(f"unpacks to {total / 1e6:.0f} MB, over the {max_mb:g} MB cap")
            for info in infos:
                if Path(info.filename).is_absolute() or ".." in Path(info.filename).parts:
                    raise SdistError(f"{archive.name}: unsafe path {info.filename!r}")
            with atomic_dir(dest) as tmp:
                z.extractall(tmp)
    except (zipfile.BadZipFile, OSError) as e:
        raise SdistError(f"{archive.name}: cannot unpack ({e})") from None


def wheel_name(archive: Path) -> str:
    """The normalised distribution name of a wheel file (`Foo_Bar-1.0-py3-none-any.whl` -> foo-bar)."""
    return canonical_name(archive.name.split("-", 1)[0])[0]
