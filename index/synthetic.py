"""Seeded synthetic function records (functions.csv rows) for the index's tests and benchmarks."""
from __future__ import annotations

import numpy as np

VERBS = "read write parse load save open close sort merge split join fetch send build find copy".split()
NOUNS = "json file path list dict config image socket string table user token cache queue graph".split()
APIS = "os.path.join json.load json.dumps open re.match sorted list.append dict.get socket.send shutil.copy".split()


def make_function(i: int, repo: str, rng: np.random.Generator, language: str = "python") -> dict:
    """One record whose name, calls, identifiers, docstring and code share a verb and a noun."""
    verb, noun, other = rng.choice(VERBS), rng.choice(NOUNS), rng.choice(NOUNS)
    name = f"{verb}_{noun}_{i}" if i % 3 else f"{verb}{noun.capitalize()}{i}"
    apis = list(rng.choice(APIS, 2, replace=False))
    desc = f"{verb.capitalize()} the {noun} into a {other}."
    code = (f"def {name}({noun}, {other}=None):\n"
            f"    \"\"\"{desc}\n\n    Works on any {noun}.\n    \"\"\"\n"
            f"    result = {apis[0]}({noun})\n"
            f"    # keep the {other}\n"
            f"    {other}_value = {apis[1]}(result, {i})\n"
            f"    return {other}_value\n")
    line = int(rng.integers(1, 500))
    path = f"pkg{i % 4}/{noun}_utils.py"
    return {"id": i, "repo": repo, "path": path, "start_line": line, "end_line": line + 7,
            "url": f"https://example.org/{repo}/blob/abc/{path}#L{line}-L{line + 7}", "language": language,
            "name": name, "apiseq": " ".join(apis), "tokens": " ".join([verb, noun, other, "result", "value"]),
            "desc": desc, "code": code}


def make_records(n_repos: int = 6, per_repo: int = 40, seed: int = 0, start_id: int = 0,
                 languages: tuple[str, ...] = ("python",)) -> list[dict]:
    """n_repos repositories (org/repo0..) of per_repo functions, ids from start_id, deterministic."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(n_repos):
        for _ in range(per_repo):
            i = start_id + len(out)
            out.append(make_function(i, f"org/repo{r}", rng, languages[r % len(languages)]))
    return out
