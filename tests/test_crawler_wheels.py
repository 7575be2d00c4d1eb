"""The PyPI source's wheel mode against wheel files the test writes (pip --no-index --find-links)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from crawler.__main__ import main
from crawler.manifest import read_manifest
from crawler.sdist import SdistError
from crawler.wheel import read_wheel_metadata, unpack_wheel, wheel_name

# (name, version, licence header, expected status)
WHEELS = [("csw-mit", "1.0", "License-Expression: MIT", "ok"),
          ("csw-gpl", "2.1", "License-Expression: GPL-3.0-only", "skipped")]


def write_wheel(folder: Path, name: str, version: str, header: str, extra: dict[str, str] | None = None) -> Path:
    """A pure-Python wheel: one module and its dist-info (METADATA, WHEEL, RECORD)."""
    mod = name.replace("-", "_")
    info = f"{mod}-{version}.dist-info"
    files = {f"{mod}/__init__.py": f'def {mod}_hello():\n    """Greet from {name}."""\n    return 1\n',
             f"{info}/METADATA": f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{header}\n"
                                 f"Project-URL: Source, https://github.com/example/{name}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             f"{info}/RECORD": "", **(extra or {})}
    path = folder / f"{mod}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for rel, text in files.items():
            z.writestr(rel, text)
    return path


@pytest.fixture
def wheels(tmp_path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name, version, header, _ in WHEELS:
        write_wheel(folder, name, version, header)
    return folder


def test_wheel_mode_fetches_checks_licences_and_unpacks(wheels, tmp_path):
    out = tmp_path / "repos.jsonl"
    argv = ["pypi", "--wheels", "--no-index", "--find-links", str(wheels), "--licences", "MIT", "--out", str(out),
            "--repos-dir", str(tmp_path / "repos"), "--flush-seconds", "0", *[w[0] for w in WHEELS]]
    assert main(argv) == 0
    recs = {r.name: r for r in read_manifest(out)}
    assert {n: r.status for n, r in recs.items()} == {f"pypi/{w[0]}": w[3] for w in WHEELS}
    ok = recs["pypi/csw-mit"]
    assert ok.version == "1.0" and ok.licence == "MIT" and ok.url == "https://github.com/example/csw-mit"
    assert ok.extra == {"wheel": "csw_mit-1.0-py3-none-any.whl"}
    assert (Path(ok.path) / "csw_mit" / "__init__.py").read_text().startswith("def csw_mit_hello")
    assert recs["pypi/csw-gpl"].path is None and not (tmp_path / "repos" / "pypi" / "csw-gpl").exists()
    # a second run finds everything done
    assert main(argv) == 0


def test_wheel_helpers(tmp_path):
    whl = write_wheel(tmp_path, "Foo_Bar", "3.0", "License: MIT")
    assert wheel_name(whl) == "foo-bar"
    assert read_wheel_metadata(whl)["Version"] == "3.0"
    bad = write_wheel(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, "evil", "1.0",
                      "License: MIT", extra={"../escape.py": "x = 1\n"})
    with pytest.raises(SdistError, match="unsafe path"):
        unpack_wheel(bad, tmp_path / "dest", 10)
    assert not (tmp_path / "dest").exists() and not (tmp_path / "escape.py").exists()
