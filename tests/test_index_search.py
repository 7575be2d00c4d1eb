"""The searcher: modes, fusion, filters, near-duplicates, matched lines, pagination, and every bad input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.build import build_index
from index.encoders import HashingEncoder
from index.errors import IndexCorruptError, IndexMissingError, ModelMismatchError, QueryError
from index.fusion import FusionConfig, fuse, fuse_all
from index.manifest import MANIFEST, IndexConfig
from index.searcher import Hit, SearchConfig, Searcher
from index.synthetic import make_records

ENC = HashingEncoder(dim=64)
MODES = ("neural", "lexical", "hybrid")


def corpus():
    recs = make_records(n_repos=6, per_repo=40, languages=("python", "go"))
    n = len(recs)
    # a vendored copy: same code (docstring and comments aside) in another repository
    copy = dict(recs[3], id=n, repo="org/vendor", path="vendored/x.py",
                code=recs[3]["code"].replace("# keep", "# we keep"))
    special = dict(recs[0], id=n + 1, repo="org/special", name="loadJSON", apiseq="json.loads", tokens="load json",
                   desc="Load JSON text.", code="def loadJSON(text):\n    data = json.loads(text)\n    return data\n")
    return recs + [copy, special]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    out = tmp_path_factory.mktemp("ix") / "index"
    build_index(corpus(), None, out, IndexConfig(progress=False), encoder=ENC)
    s = Searcher.open(out, encoder=ENC)
    yield s
    s.close()


# -- modes and fusion --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_each_mode_returns_ranked_hits_with_permalinks(searcher, mode):
    res = searcher.search("read json file", k=10, mode=mode)
    assert res.mode == mode and len(res.hits) == 10 and res.total >= 10 and res.took_ms >= 0
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(h.url.endswith(f"#L{h.start_line}-L{h.end_line}") for h in res.hits)
    assert set(Hit.__dataclass_fields__) == set(res.hits[0].to_dict())
    assert res.to_dict()["hits"][0]["id"] == res.hits[0].id


def test_neural_scores_are_cosines_of_the_encoder(searcher):
    res = searcher.search("sort list", k=5, mode="neural")
    xq = ENC.encode_queries(["sort list"])[0]
    records = {r["id"]: r for r in corpus()}
    for h in res.hits:
        xb = ENC.encode_functions([records[h.id]])[0]
        assert h.score == pytest.approx(float(xq @ xb / np.linalg.norm(xq) / np.linalg.norm(xb)), abs=1e-5)


def test_split_identifiers_match_in_the_lexical_index(searcher):
    for q in ("loadJSON", "load json", "LoadJson"):
        assert searcher.search(q, k=3, mode="lexical").hits[0].name == "loadJSON"


def test_rrf_fusion_matches_its_formula():
    a = (np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1], np.float32))
    b = (np.array([3, 4]), np.array([7.0, 7.0], np.float32))
    ids, scores = fuse({"neural": a, "lexical": b},
                       FusionConfig("rrf", rrf_k=10, weights={"neural": 2.0, "lexical": 1.0}))
    want = {1: 2 / 11, 2: 2 / 12, 3: 2 / 13 + 1 / 11, 4: 1 / 11}  # tied scores share rank 1
    assert ids.tolist() == sorted(want, key=lambda i: (-want[i], i))
    np.testing.assert_allclose(scores, [want[i] for i in ids.tolist()], rtol=1e-6)


def test_weighted_fusion_normalises_each_list():
    a = (np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1], np.float32))
    b = (np.array([3, 1]), np.array([10.0, 5.0], np.float32))
    ids, scores = fuse({"neural": a, "lexical": b},
                       FusionConfig("weighted", {"lexical": 0.5}, normalize="minmax"))
    want = {1: 1.0 + 0.0, 2: 0.5, 3: 0.0 + 0.5}  # 2 is missing from the lexical list: its lowest, 0
    assert dict(zip(ids.tolist(), np.round(scores, 6).tolist())) == want
    ids, scores = fuse({"neural": a, "lexical": b}, FusionConfig("weighted", {"lexical": 0.5}, normalize="zscore"))
    z = lambda x, s: (x - np.mean(s)) / np.std(s)  # noqa: E731
    want = {1: z(0.9, a[1]) + 0.5 * z(5, b[1]), 2: z(0.5, a[1]) + 0.5 * z(5, b[1]),
            3: z(0.1, a[1]) + 0.5 * z(10, b[1])}
    assert ids.tolist() == sorted(want, key=lambda i: -want[i])
    np.testing.assert_allclose(scores, [want[i] for i in ids.tolist()], rtol=1e-5)
    with pytest.raises(ValueError, match="fusion.method"):
        FusionConfig(method="max")
    with pytest.raises(ValueError, match="fusion.normalize"):
        FusionConfig(normalize="l2")


def test_one_list_passes_through_unchanged():
    a = (np.array([5, 6]), np.array([0.3, 0.2], np.float32))
    ids, scores = fuse({"neural": a, "lexical": (np.zeros(0, np.int64), np.zeros(0, np.float32))}, FusionConfig())
    assert ids.tolist() == [5, 6] and scores.tolist() == pytest.approx([0.3, 0.2])


@pytest.mark.parametrize("cfg", [FusionConfig("rrf"), FusionConfig("weighted", normalize="zscore"),
                                 FusionConfig("weighted", normalize="minmax")])
def test_fuse_all_agrees_with_fuse_on_complete_lists(cfg):
    rng = np.random.default_rng(0)
    s1, s2 = rng.random(50).astype(np.float32), rng.random(50).astype(np.float32)
    s2[::3] = np.nan
    ids = np.arange(50)
    full = fuse_all({"neural": s1, "lexical": s2}, cfg, depth=50)
    lists = {name: (ids[~np.isnan(s)][np.argsort(-s[~np.isnan(s)], kind="stable")], np.sort(s[~np.isnan(s)])[::-1])
             for name, s in (("neural", s1), ("lexical", s2))}
    fids, fscores = fuse(lists, cfg)
    np.testing.assert_allclose(full[fids], fscores, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_score_all_ranks_like_search(searcher, mode):
    q = "parse the config"
    scores = searcher.score_all(q, mode)
    assert scores.shape == (searcher.size,) and not np.isnan(scores).any()  # no evidence is -inf: ranked last
    top = searcher.search(q, k=1, mode=mode).hits[0]
    assert searcher.ids()[int(np.argmax(scores))] == top.id or scores.max() == pytest.approx(
        scores[np.searchsorted(searcher.ids(), top.id)], rel=1e-6)


def test_a_third_scorer_can_join_a_new_mode(searcher, tmp_path):
    class Constant:
        name = "constant"

        def top(self, q, n, filt=None):
            return np.array([5, 4]), np.array([1.0, 0.5], np.float32)

        def score_all(self, q, ids):
            return np.where(ids == 5, 1.0, np.nan).astype(np.float32)

    s = Searcher.open(searcher.index_dir, encoder=ENC)
    s.add_scorer(Constant(), {"best": ("neural", "lexical", "constant")})
    res = s.search("read json file", k=5, mode="best")
    assert res.mode == "best" and 5 in [h.id for h in res.hits]
    with pytest.raises(QueryError, match="best"):
        searcher.search("x", mode="best")  # the other searcher is untouched


# -- filters, duplicates, matched lines, pagination ---------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_filters_by_repository_language_and_path(searcher, mode):
    for kw, check in ((dict(repo="org/repo2"), lambda h: h.repo == "org/repo2"),
                      (dict(lang="go"), lambda h: h.language == "go"),
                      (dict(path="pkg1/*"), lambda h: h.path.startswith("pkg1/")),
                      (dict(repo="org/repo1", lang="go", path="*json*"),
                       lambda h: h.repo == "org/repo1" and h.language == "go" and "json" in h.path)):
        res = searcher.search("read json file", k=20, mode=mode, **kw)
        assert res.hits and all(check(h) for h in res.hits), kw


def test_filter_that_matches_nothing_gives_no_hits(searcher):
    res = searcher.search("read json", k=5, path="no/such/*.rs")
    assert res.hits == [] and res.total == 0


def test_filtered_neural_search_is_exact_on_the_allowed_functions(searcher):
    res = searcher.search("save table", k=10, mode="neural", repo="org/repo3")
    scores = searcher.score_all("save table", "neural")
    ids = searcher.ids()
    mask = np.isin(ids, [r["id"] for r in corpus() if r["repo"] == "org/repo3"])
    best = np.sort(scores[mask])[::-1][:10]
    np.testing.assert_allclose([h.score for h in res.hits], best, rtol=1e-5)


def test_near_duplicates_collapse_to_the_best_ranked(searcher):
    original = corpus()[3]
    q = original["desc"]
    hits = searcher.search(q, k=50, mode="lexical").hits
    copies = [h for h in hits if h.code.split("\n")[0] == original["code"].split("\n")[0]]
    assert len(copies) == 1
    uncollapsed = Searcher(searcher.store, searcher.scorers, SearchConfig(collapse_duplicates=False),
                           searcher.manifest, searcher.index_dir)
    hits = uncollapsed.search(q, k=50, mode="lexical").hits
    assert {h.repo for h in hits if h.code.split("\n")[0] == original["code"].split("\n")[0]} == \
        {original["repo"], "org/vendor"}


@pytest.mark.parametrize("mode", MODES)
def test_a_fresh_searcher_collapses_from_the_store_as_the_row_table_does(searcher, mode):
    # a command's one search asks the store for its candidates' keys; a warmed server uses the row table
    fresh = Searcher.open(searcher.index_dir, encoder=ENC)
    try:
        queries = [corpus()[3]["desc"], "load json text", "read a file"]
        cold = [[h.id for h in fresh.search(q, k=30, mode=mode).hits] for q in queries]
        assert fresh._rows is None and fresh.size == len(corpus())
        fresh.warm()
        assert fresh._rows is not None
        assert [[h.id for h in fresh.search(q, k=30, mode=mode).hits] for q in queries] == cold
    finally:
        fresh.close()


def test_matched_lines_hold_query_words(searcher):
    hit = searcher.search("loadJSON json", k=1, mode="lexical").hits[0]
    lines = hit.code.splitlines()
    assert hit.matched_lines == [1, 2]  # def loadJSON(...), json.loads(...): not `return data`
    assert all("json" in lines[i - 1].lower() for i in hit.matched_lines)
    assert searcher.search("parsing files", k=1, mode="lexical").hits[0].matched_lines  # stems: parse, file


def test_matched_lines_are_whole_words_per_code():
    from index.analysis import matched_lines
    stem = lambda text: [w.lower().removesuffix("s") for w in text.split()]  # a toy stemmer
    codes = ["def f(paths):\n    x = 1\n    return os.path.join(*paths)\n",
             "def g():\n    subpath = 2\n    return pathlib\n", ""]
    # `paths`, `path` match by stem; `subpath` and `pathlib` are other words, not substrings to match
    assert matched_lines(codes, {"path"}, stem) == [[1, 3], [], []]
    assert matched_lines(codes, set(), stem) == [[], [], []]


def test_scorers_on_a_thread_give_the_same_results(searcher):
    serial = Searcher.open(searcher.index_dir, encoder=ENC, cfg=SearchConfig(scorer_threads=0))
    try:
        for q in ("read json file", "sort list", "loadJSON json", "parsing files"):
            a, b = searcher.search(q, k=20), serial.search(q, k=20)
            assert [(h.id, h.score, h.matched_lines) for h in a.hits] == [(h.id, h.score, h.matched_lines) for h in b.hits]
    finally:
        serial.close()


def test_pages_concatenate_to_the_first_big_page(searcher):
    full = [h.id for h in searcher.search("open socket", k=30).hits]
    pages = [h.id for off in (0, 10, 20) for h in searcher.search("open socket", k=10, offset=off).hits]
    assert pages == full


def test_views(searcher):
    assert searcher.size == 242 and len(searcher.ids()) == 242
    assert "org/special" in searcher.repos() and searcher.languages() == ["go", "python"]


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_empty_query_is_refused(searcher, query):
    with pytest.raises(QueryError, match="empty"):
        searcher.search(query)


def test_a_10000_character_query_is_refused(searcher):
    with pytest.raises(QueryError, match="10,000 characters"):
        searcher.search("read json " * 1000)
    assert searcher.search("read json " * 100, k=3).hits  # 1,000 characters is still fine


def test_only_stop_words(searcher):
    q = "how to do it with the"
    assert searcher.search(q, mode="lexical").hits == []     # nothing to match lexically
    neural = searcher.search(q, mode="neural")
    hybrid = searcher.search(q, mode="hybrid")
    assert [h.id for h in hybrid.hits] == [h.id for h in neural.hits]


def test_non_english_query(searcher):
    for mode in MODES:
        assert searcher.search("读取文件并返回字典", mode=mode).hits == []   # no word the engine knows
    hits = searcher.search("读取 json 文件", k=3, mode="lexical").hits
    assert hits and all("json" in (h.name + h.code).lower() for h in hits)


@pytest.mark.parametrize("query", ['"read json', "json*", "read NEAR json", "read AND json", "read OR json",
                                   "NOT json", "-json", "name:json", "json^10", "(read json", "read) (", "json~2",
                                   "[a TO z]", "+json -read", "\\", "''' ", "@#$%^&*()"])
@pytest.mark.parametrize("mode", MODES)
def test_query_syntax_is_only_words(searcher, query, mode):
    res = searcher.search(query, k=5, mode=mode)
    words = {w.lower() for w in __import__("re").findall(r"[A-Za-z0-9]+", query)}
    if mode == "lexical" and "json" in words:
        plain = searcher.search(" ".join(sorted(words)), k=5, mode=mode)
        assert [h.id for h in res.hits] == [h.id for h in plain.hits]


SYNTAX = st.lists(st.sampled_from(list('"*:^()[]{}~-+!?/\\ ') + ["AND", "OR", "NOT", "NEAR", "TO", "json", "read",
                                                                 "读"]), max_size=40).map("".join)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(st.text(max_size=300), SYNTAX), mode=st.sampled_from(MODES), k=st.integers(1, 30))
def test_any_string_is_a_valid_query(searcher, query, mode, k):
    if not query.strip():
        with pytest.raises(QueryError):
            searcher.search(query, k=k, mode=mode)
        return
    res = searcher.search(query, k=k, mode=mode)
    assert len(res.hits) <= k and res.total >= len(res.hits)


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, "10", True])
def test_k_out_of_range_is_refused(searcher, k):
    with pytest.raises(QueryError, match="k must be"):
        searcher.search("read json", k=k)


def test_other_bad_options_are_refused(searcher):
    with pytest.raises(QueryError, match="unknown repository 'org/nope'"):
        searcher.search("read json", repo="org/nope")
    with pytest.raises(QueryError, match="unknown language 'cobol'"):
        searcher.search("read json", lang="cobol")
    with pytest.raises(QueryError, match="unknown mode 'magic'.*hybrid"):
        searcher.search("read json", mode="magic")
    with pytest.raises(QueryError, match="offset"):
        searcher.search("read json", offset=-1)
    with pytest.raises(QueryError, match="path"):
        searcher.search("read json", path=" ")
    assert searcher.search("read json", k=1000).hits


def test_missing_index_names_the_make_target(tmp_path):
    with pytest.raises(IndexMissingError, match="make index") as e:
        Searcher.open(tmp_path / "nothing", encoder=ENC)
    assert isinstance(e.value, FileNotFoundError)


def test_index_built_with_another_model_is_refused(searcher):
    with pytest.raises(ModelMismatchError, match=f"built with model {ENC.identity}"):
        Searcher.open(searcher.index_dir, encoder=HashingEncoder(dim=32))
    with pytest.raises(ModelMismatchError):
        Searcher.open(searcher.index_dir, "hashing:128")


def test_damaged_index_is_reported(tmp_path):
    out = tmp_path / "ix"
    build_index(corpus()[:20], None, out, IndexConfig(progress=False), encoder=ENC)
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="make index"):
        Searcher.open(out, encoder=ENC)


@pytest.mark.parametrize("exact_filter_max", [10, 10_000])
def test_filters_on_an_hnsw_index_match_exact_search(tmp_path, searcher, exact_filter_max):
    """Small filters are scored exactly from stored vectors, large ones through FAISS's id selector."""
    out = tmp_path / "hnsw"
    cfg = IndexConfig(progress=False)
    cfg.vectors.kind, cfg.vectors.exact_filter_max = "hnsw", exact_filter_max
    build_index(corpus(), None, out, cfg, encoder=ENC)
    s = Searcher.open(out, encoder=ENC)
    for q in ("save table", "open socket"):
        got = s.search(q, k=10, mode="neural", repo="org/repo3", lang="go")
        want = searcher.search(q, k=10, mode="neural", repo="org/repo3", lang="go")
        assert want.hits and [h.id for h in got.hits] == [h.id for h in want.hits]
    s.close()
