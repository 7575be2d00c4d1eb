"""End to end: benchmarks.quality.quality on a tiny fixture file, checked against brute-force references."""
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.benchfile import pool_records, read_bench
from benchmarks.peers import BM25Peer, minilm_missing
from benchmarks.quality import quality
from benchmarks.ranking import METRICS

FIXTURE = Path(__file__).parent / "fixtures" / "bench_tiny.jsonl"


def reference_ranks(S: np.ndarray, gold: np.ndarray) -> list[int]:
    """Position of gold in a stable sort (gold first among ties); an unscored gold comes last."""
    out = []
    for row, g in zip(S, gold):
        if not np.isfinite(row[g]):
            out.append(len(row))
            continue
        key = np.where(np.isfinite(row), row, -np.inf)
        order = sorted(range(len(row)), key=lambda j: (-key[j], j != g))
        out.append(order.index(g) + 1)
    return out


def expected_row(ranks) -> dict:
    r = np.asarray(ranks, dtype=float)
    return {"MRR": np.mean(1 / r), "SR@1": np.mean(r <= 1), "SR@5": np.mean(r <= 5), "SR@10": np.mean(r <= 10),
            "nDCG@10": np.mean(np.where(r <= 10, 1 / np.log2(r + 1), 0))}


def run_json(capsys, *args) -> dict:
    assert quality.main([str(FIXTURE), "--json", "--quiet", *args]) == 0
    return json.loads(capsys.readouterr().out)


def assert_row(got: dict, want: dict):
    for m in METRICS:
        assert got[m] == pytest.approx(want[m]), m


def test_bm25_peer_end_to_end_with_chart(capsys, tmp_path):
    chart = tmp_path / "docs" / "q.png"
    report = run_json(capsys, "--modes", "bm25", "--chart", str(chart))
    bench = read_bench(FIXTURE)
    assert report["bench"]["queries"] == bench.nq and report["bench"]["pool"] == bench.nb
    peer = BM25Peer()
    peer.fit(bench.codes)
    S = np.stack([peer.scores(q) for q in bench.queries])
    ranks = reference_ranks(S, bench.gold)
    assert ranks[-1] == bench.nb          # the fixture's last query shares no word with any code
    assert_row(report["modes"]["bm25"], expected_row(ranks))
    assert report["modes"]["bm25"]["ms_per_query"] >= 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["bench"]["unparsed"] == 1 and any("1 of 12 pool functions did not parse" in n for n in report["notes"])


def test_text_table(capsys, tmp_path):
    assert quality.main([str(FIXTURE), "--modes", "bm25", "--no-chart", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| mode | MRR | SR@1 | SR@5 | SR@10 | nDCG@10 | ms/query |" in out
    assert "\n| bm25 | " in out and "12 queries over a pool of 12" in out


def test_our_modes_with_the_hashing_encoder(capsys, tmp_path):
    pytest.importorskip("index.searcher")
    from index.encoders import HashingEncoder
    report = run_json(capsys, "--model", "hashing", "--modes", "neural,lexical,hybrid", "--no-chart")
    assert list(report["modes"]) == ["neural", "lexical", "hybrid"]
    # neural mode is the cosine of hashed query and code vectors: recompute it without the index
    bench = read_bench(FIXTURE)
    records, _ = pool_records(bench)
    enc = HashingEncoder()
    xb, xq = enc.encode_functions(records), enc.encode_queries(bench.queries)
    xb /= np.maximum(np.linalg.norm(xb, axis=1, keepdims=True), 1e-12)
    xq /= np.maximum(np.linalg.norm(xq, axis=1, keepdims=True), 1e-12)
    ranks = reference_ranks(xq @ xb.T, bench.gold)
    assert_row(report["modes"]["neural"], expected_row(ranks))
    for name in ("lexical", "hybrid"):
        assert all(0 <= report["modes"][name][m] <= 1 for m in METRICS)


def tiny_model(tmp_path: Path, records: list[dict]) -> Path:
    """An untrained CODEnn model directory with vocabularies of the fixture (a real codenn.load target)."""
    torch = pytest.importorskip("torch")
    from codenn import bundle
    from codenn.config import DataConfig
    from codenn.model import JointEmbedder, ModelConfig
    from preprocess.text import FieldTokenizer, Vocab
    out = tmp_path / "model"
    out.mkdir()
    words = FieldTokenizer().words           # word-level tokens: no subword file in this directory
    vocabs = {f: Vocab.build(words(f, r[f]) for r in records) for f in bundle.FIELDS}
    for f, v in vocabs.items():
        (out / bundle.vocab_file(f)).write_text(v.to_json(), encoding="utf-8")
    torch.manual_seed(0)
    cfg = ModelConfig(n_name=len(vocabs["name"]), n_apiseq=len(vocabs["apiseq"]), n_tokens=len(vocabs["tokens"]),
                      n_desc=len(vocabs["desc"]), emb_size=8, lstm_hidden=8, bow_hidden=8)
    bundle.save_model(JointEmbedder(cfg), out, DataConfig())
    return out


def test_neural_mode_with_a_codenn_model_directory(capsys, tmp_path):
    pytest.importorskip("index.searcher")
    import codenn
    bench = read_bench(FIXTURE)
    records, _ = pool_records(bench)
    model = tiny_model(tmp_path, records)
    report = run_json(capsys, "--model", str(model), "--modes", "neural", "--no-chart")
    enc = codenn.load(model)
    xb, xq = enc.encode_functions(records), enc.encode_queries(bench.queries)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    assert_row(report["modes"]["neural"], expected_row(reference_ranks(xq @ xb.T, bench.gold)))


def test_missing_model_skips_our_default_modes_but_fails_when_named(tmp_path, capsys):
    cfg = quality.QualityConfig(model_dir=str(tmp_path / "none"))
    run, notes = quality.runnable_modes(cfg)
    assert not {"neural", "lexical", "hybrid"} & set(run) and "bm25" in run
    assert any(n.startswith("hybrid skipped: no trained model") for n in notes)
    assert quality.main([str(FIXTURE), "--model", str(tmp_path / "none"), "--modes", "hybrid", "--no-chart"]) == 2
    assert "mode hybrid cannot run: no trained model" in capsys.readouterr().err


def test_unknown_mode(capsys):
    assert quality.main([str(FIXTURE), "--no-chart", "--quiet", "--modes", "bm25,nope"]) == 2
    assert "unknown mode(s) nope" in capsys.readouterr().err


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"code": "def f(): pass", "query": "q"}\n{nope\n')
    for path in (bad, tmp_path / "absent.jsonl"):
        assert quality.main([str(path), "--modes", "bm25", "--no-chart"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err


@pytest.mark.skipif(minilm_missing() is not None, reason="MiniLM is not installed")
def test_minilm_peer_ranks_by_meaning_and_caches_the_pool(tmp_path):
    from benchmarks.peers import MiniLMPeer
    bench = read_bench(FIXTURE)
    first = MiniLMPeer(cache_dir=tmp_path, progress=False)
    first.fit(bench.codes)
    assert not first.cache_hit and first.xb.shape == (bench.nb, 384)
    assert np.allclose(np.linalg.norm(first.xb, axis=1), 1, atol=1e-5)
    again = MiniLMPeer(cache_dir=tmp_path, progress=False)
    again._model = first.model                   # share the loaded weights; the pool must come from disk
    again.fit(bench.codes)
    assert again.cache_hit and np.array_equal(again.xb, first.xb)
    S = again.score_many(bench.queries)
    assert np.allclose(S[0], again.scores(bench.queries[0]), atol=1e-5)
    read_json = bench.codes.index(next(c for c in bench.codes if c.startswith("def read_json")))
    assert int(np.argmax(again.scores("load a json document from disk"))) == read_json
