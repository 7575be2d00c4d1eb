"""Reading the benchmark file format, and turning its pool into index records."""
import json
from pathlib import Path

import pytest

from benchmarks.benchfile import BenchFormatError, pool_records, read_bench

FIXTURE = Path(__file__).parent / "fixtures" / "bench_tiny.jsonl"
A = "def a(x):\n    return x + 1\n"
B = "def b(path):\n    return open(path).read()\n"
C = "def c():\n    pass\n"


def write(tmp_path, records, name="b.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_duplicate_codes_are_one_pool_entry_and_records_without_query_are_distractors(tmp_path):
    path = write(tmp_path, [
        {"id": "1", "code": A, "language": "python"},                     # distractor
        {"id": "2", "code": B, "language": "python", "query": "read a file"},
        {"id": "3", "code": A, "language": "python", "query": "add one"},  # same code as record 1
        {"id": "4", "code": C, "language": "python", "query": ""},         # empty query: a distractor
        {"id": "5", "code": C, "language": "python", "query": None},
        {"id": "6", "code": B, "language": "python", "query": "file contents"},
    ])
    b = read_bench(path)
    assert b.codes == [A, B, C]
    assert b.code_ids == ["1", "2", "4"]
    assert b.queries == ["read a file", "add one", "file contents"]
    assert b.query_ids == ["2", "3", "6"]
    assert b.gold.tolist() == [1, 0, 1]
    assert (b.nq, b.nb) == (3, 3)


def test_fixture_file():
    b = read_bench(FIXTURE)
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert b.nb == len({r["code"] for r in lines})
    assert b.nq == sum(1 for r in lines if r.get("query"))
    for q, g in zip(b.queries, b.gold):
        assert any(r.get("query") == q and r["code"] == b.codes[g] for r in lines)


def test_hash_changes_with_content(tmp_path):
    one = read_bench(write(tmp_path, [{"code": A, "query": "q"}], "one.jsonl"))
    two = read_bench(write(tmp_path, [{"code": B, "query": "q"}], "two.jsonl"))
    assert one.sha256 != two.sha256 and len(one.sha256) == 64


@pytest.mark.parametrize("lines, message", [
    (['{"code": "def f(): pass", "query": "q"', ], "not JSON"),
    (['["def f(): pass"]'], "JSON object"),
    ([{"query": "q", "language": "python"}], "missing 'code'"),
    ([{"code": "   ", "query": "q"}], "empty 'code'"),
    ([{"code": A, "query": 3}], "'query' must be a string"),
    ([{"code": A}], "no record has a query"),
    ([], "no records"),
])
def test_bad_files_name_the_problem(tmp_path, lines, message):
    path = write(tmp_path, lines)
    with pytest.raises(BenchFormatError, match=message):
        read_bench(path)


def test_error_names_the_line(tmp_path):
    path = write(tmp_path, [{"code": A, "query": "q"}, "", "{oops"])
    with pytest.raises(BenchFormatError, match=r"b\.jsonl:3: not JSON"):
        read_bench(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such benchmark file"):
        read_bench(tmp_path / "absent.jsonl")


def test_pool_records_take_the_outermost_function_and_fall_back_on_syntax_errors(tmp_path):
    outer = "def outer(items):\n    def inner(x):\n        return json.dumps(x)\n    return [inner(i) for i in items]\n"
    indented = 'def load(path):\n        """Load a config file."""\n        return yaml.safe_load(open(path))\n'
    broken = "def parse_date(s)\n    return datetime.strptime(s, '%Y')\n"
    b = read_bench(write(tmp_path, [{"code": outer, "query": "q"}, {"code": indented}, {"code": broken}]))
    records, fallbacks = pool_records(b)
    assert fallbacks == 1
    assert [r["id"] for r in records] == [1, 2, 3]
    assert records[0]["name"] == "outer"
    assert records[0]["apiseq"] == "json.dumps inner"
    assert records[1]["name"] == "load" and records[1]["desc"] == "Load a config file."
    assert records[1]["apiseq"] == "yaml.safe_load open"
    assert records[2]["name"] == "parse_date"
    assert records[2]["tokens"].split()[:4] == ["def", "parse", "date", "s"]
    assert "strptime" in records[2]["desc"]
    assert all(r["code"] == c for r, c in zip(records, b.codes))


def test_pool_snippets_of_other_languages_parse_in_their_language(tmp_path):
    from benchmarks.benchfile import pool_records, read_bench

    snippets = [("get(key) {\n  return this.entries.get(key);\n}\n", "javascript"),
                ("gaussian: function (u) {\n  return Math.exp(-u * u);\n}\n", "javascript"),
                ("public int add(int a) {\n  return Math.abs(a);\n}\n", "java"),
                ("func (s *S) Run() {\n\tfmt.Println(1)\n}\n", "go"),
                ("%%% not code at all (\n", "rust")]
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"query": f"q{i}", "code": c, "language": lang, "id": str(i)}) + "\n"
                            for i, (c, lang) in enumerate(snippets)))
    records, fallbacks = pool_records(read_bench(path))
    assert [(r["name"], r["apiseq"]) for r in records[:4]] == [
        ("get", "entries.get"), ("gaussian", "Math.exp"), ("add", "Math.abs"), ("S.Run", "fmt.Println")]
    assert fallbacks == 1 and records[4]["name"] == "all"   # the fallback takes the first `name(`
