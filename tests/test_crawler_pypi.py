"""The PyPI crawler against a local simple index of source distributions the test builds (no network)."""
from __future__ import annotations

import io
import shutil
import tarfile
from dataclasses import asdict
from email.message import Message
from pathlib import Path

import pytest

from crawler.__main__ import main
from crawler.licences import expression_allowed, licence_from_metadata
from crawler.manifest import RepoRecord, read_manifest
from crawler.pypi import canonical_name, source_url

# an in-tree PEP 517 backend with no requirements: pip prepares metadata without fetching anything
BACKEND = '''\
import os
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    text = open("PKG-INFO", encoding="utf-8").read()
    head = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    name = "%s-%s.dist-info" % (head["Name"].replace("-", "_"), head["Version"])
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w", encoding="utf-8") as f:
        f.write(text)
    return name
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("fixture packages are never built")
'''
PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "_backend"\nbackend-path = ["."]\n'
# name, version, metadata headers, expected (status, licence, url)
PACKAGES = [
    ("csfix-alpha", "1.0", ["License-Expression: MIT", "Project-URL: Source, https://github.com/example/alpha/tree/main"],
     ("ok", "MIT", "https://github.com/example/alpha")),
    ("csfix-beta", "2.0", ["Home-page: https://example.org/beta", "Classifier: License :: OSI Approved :: MIT License"],
     ("ok", "MIT", "https://pypi.org/project/csfix-beta/")),
    ("csfix-gamma", "0.3", ["License-Expression: Apache-2.0", "Home-page: https://github.com/example/gamma.git"],
     ("skipped", "Apache-2.0", "https://github.com/example/gamma")),
    ("csfix-delta", "1.1", ["License-Expression: MIT OR Apache-2.0"], ("ok", "MIT OR Apache-2.0", "https://pypi.org/project/csfix-delta/")),
    ("csfix-bare", "0.1", [], ("skipped", None, "https://pypi.org/project/csfix-bare/")),
]
NAMES = [p[0] for p in PACKAGES] + ["csfix-missing"]


def module_source(name: str) -> str:
    return f'def {name.replace("-", "_")}_hello():\n    """Greet from {name}."""\n    return 1\n'


def sdist_bytes(name: str, version: str, headers: list[str], extra: dict[str, str] | None = None) -> bytes:
    """A source distribution: PKG-INFO, pyproject, the in-tree backend, one module."""
    root = f"{name.replace('-', '_')}-{version}"
    pkg_info = "\n".join(["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]) + "\n"
    files = {"PKG-INFO": pkg_info, "pyproject.toml": PYPROJECT, "_backend.py": BACKEND,
             f"{name.replace('-', '_')}/__init__.py": module_source(name), **(extra or {})}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """A PEP 503 simple index (file://) over the fixture sdists; returns its folder."""
    root = tmp_path_factory.mktemp("index")
    (root / "files").mkdir()
    for name, version, headers, _ in PACKAGES:
        fname = f"{name.replace('-', '_')}-{version}.tar.gz"
        (root / "files" / fname).write_bytes(sdist_bytes(name, version, headers))
        page = root / "simple" / name
        page.mkdir(parents=True)
        (page / "index.html").write_text(f'<a href="../../files/{fname}">{fname}</a>\n')
    return root


def args(index: Path, tmp: Path, *extra: str) -> list[str]:
    return ["pypi", "--index-url", (index / "simple").as_uri(), "--out", str(tmp / "repos.jsonl"),
            "--repos-dir", str(tmp / "repos"), "--jobs", "2", "--flush-seconds", "0", *extra]


def expected(tmp: Path, only=None) -> list[dict]:
    out = []
    for name, version, _, (status, licence, url) in PACKAGES:
        if only is not None and name not in only:
            continue
        rec = RepoRecord(name=f"pypi/{name}", source="pypi", url=url, licence=licence, version=version,
                         status=status, extra={"sdist": f"{name.replace('-', '_')}-{version}.tar.gz"})
        if status == "ok":
            rec.path = str((tmp / "repos" / "pypi" / name).resolve())
        out.append(asdict(rec))
    if only is None or "csfix-missing" in only:
        out.append(asdict(RepoRecord(name="pypi/csfix-missing", source="pypi", status="failed",
                                     url="https://pypi.org/project/csfix-missing/")))
    return sorted(out, key=lambda d: d["name"])


def manifest_dicts(path: Path) -> list[dict]:
    rows = [asdict(r) for r in read_manifest(path)]
    for d in rows:
        d["error"] = None
    return rows


@pytest.fixture(scope="module")
def crawled(index, tmp_path_factory) -> Path:
    """One crawl of every fixture package; tests copy its output before changing anything."""
    tmp = tmp_path_factory.mktemp("crawl")
    assert main(args(index, tmp, *NAMES)) == 0
    return tmp


def test_manifest_is_exact_and_packages_are_unpacked(crawled):
    assert manifest_dicts(crawled / "repos.jsonl") == expected(crawled)
    errors = {r.name: r.error for r in read_manifest(crawled / "repos.jsonl")}
    assert errors["pypi/csfix-gamma"] == "licence Apache-2.0 is not one of MIT"
    assert errors["pypi/csfix-bare"] == "licence unknown is not one of MIT"
    assert errors["pypi/csfix-missing"].startswith("pip download failed: ")
    assert "csfix-missing" in errors["pypi/csfix-missing"]
    for r in read_manifest(crawled / "repos.jsonl"):
        if r.status == "ok":
            mod = Path(r.path) / r.name.split("/")[1].replace("-", "_") / "__init__.py"
            assert mod.read_text() == module_source(r.name.split("/")[1])
            assert (Path(r.path) / "PKG-INFO").exists()  # the sdist's top folder is the checkout's root
    assert sorted(p.name for p in (crawled / "repos" / "pypi").iterdir()) == ["csfix-alpha", "csfix-beta", "csfix-delta"]


def test_restart_does_not_fetch_again(crawled, tmp_path, capsys):
    shutil.copytree(crawled / "repos", tmp_path / "repos")
    before = (crawled / "repos.jsonl").read_text()
    (tmp_path / "repos.jsonl").write_text(before.replace(str((crawled / "repos").resolve()),
                                                         str((tmp_path / "repos").resolve())))
    gone = tmp_path / "no-index"  # a pip call would now fail and turn an ok row into a failed one
    gone.mkdir()
    assert main(args(gone, tmp_path, *NAMES)) == 0
    assert manifest_dicts(tmp_path / "repos.jsonl") == expected(tmp_path)
    assert "6 done before" in capsys.readouterr().out


def test_wider_licence_list_takes_skipped_packages(index, crawled, tmp_path):
    shutil.copy(crawled / "repos.jsonl", tmp_path / "repos.jsonl")
    assert main(args(index, tmp_path, "--licences", "MIT,Apache-2.0", *NAMES)) == 0
    rows = {r.name: r for r in read_manifest(tmp_path / "repos.jsonl")}
    gamma = rows["pypi/csfix-gamma"]
    assert (gamma.status, gamma.licence, gamma.path) == ("ok", "Apache-2.0", str((tmp_path / "repos/pypi/csfix-gamma").resolve()))
    assert rows["pypi/csfix-bare"].status == "skipped"


def test_top_list_and_find_links(index, tmp_path):
    top = tmp_path / "top.txt"
    top.write_text("# most downloaded first\ncsfix-delta\ncsfix-gamma\ncsfix-alpha\n")
    cli = ["pypi", "--top", "2", "--top-list", str(top), "--no-index", "--find-links", str(index / "files"),
           "--out", str(tmp_path / "repos.jsonl"), "--repos-dir", str(tmp_path / "repos")]
    assert main(cli) == 0
    assert manifest_dicts(tmp_path / "repos.jsonl") == expected(tmp_path, {"csfix-delta", "csfix-gamma"})


def test_unsafe_archive_writes_nothing_outside(tmp_path):
    from crawler.sdist import SdistError, unpack

    evil = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("evil-1.0/PKG-INFO", "evil-1.0/../../escaped.py"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(SdistError, match="cannot unpack"):
        unpack(evil, tmp_path / "out" / "evil", max_mb=1)
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path.parent / "escaped.py").exists()
    assert not (tmp_path / "out" / "evil").exists()


@pytest.mark.parametrize("argv, message", [
    (["pypi"], "error: name packages to fetch, or --top N"),
    (["pypi", "not a name!"], "error: not a package name"),
    (["pypi", "--top", "0"], "error: --top must be at least 1"),
    (["pypi", "x", "--licences", ","], "error: the licence list is empty"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
    assert not (tmp_path / "r.jsonl").exists()


def metadata(*headers: str) -> Message:
    md = Message()
    for h in headers:
        k, _, v = h.partition(": ")
        md[k] = v
    return md


def test_licence_rules():
    assert licence_from_metadata(metadata("License-Expression: MIT", "Classifier: License :: OSI Approved :: BSD License")) == "MIT"
    assert licence_from_metadata(metadata("Classifier: License :: OSI Approved :: MIT License",
                                          "Classifier: License :: OSI Approved :: Apache Software License")) == "MIT OR Apache-2.0"
    assert licence_from_metadata(metadata("License: MIT License")) == "MIT"
    assert licence_from_metadata(metadata("License: Copyright (c) me, all rights reserved and more text")) is None
    assert licence_from_metadata(metadata("License: UNKNOWN")) is None
    ok = ("MIT",)
    assert expression_allowed("MIT", ok) and expression_allowed("mit", ok)
    assert expression_allowed("Apache-2.0 OR MIT", ok) and expression_allowed("(MIT OR GPL-3.0) AND MIT", ok)
    assert not expression_allowed("MIT AND GPL-3.0", ok) and not expression_allowed("MIT-0", ok)
    assert not expression_allowed("MIT OR", ok) and not expression_allowed(None, ok)
    assert expression_allowed("MIT AND Apache-2.0", ("MIT", "Apache-2.0"))


def test_names_and_source_urls():
    assert canonical_name("Typing_Extensions==4.1") == ("typing-extensions", "4.1")
    with pytest.raises(ValueError):
        canonical_name("bad name")
    md = metadata("Project-URL: Documentation, https://github.com/org/docs-site",
                  "Project-URL: Source Code, https://github.com/org/proj/tree/main/src")
    assert source_url(md, "proj") == "https://github.com/org/proj"
    assert source_url(metadata("Home-page: https://gitlab.com/x/y"), "y") == "https://pypi.org/project/y/"
