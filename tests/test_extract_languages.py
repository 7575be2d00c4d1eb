"""Extraction in every language: exact fields of one fixture per language, file selection, parse errors."""
import subprocess
from pathlib import Path

import pytest

from crawler.manifest import RepoRecord, write_manifest
from preprocess.csvio import read_functions
from preprocess.extract import ExtractConfig, extract, process_file
from preprocess.files import discover
from preprocess.languages.registry import LANGUAGES

FIXTURES = Path(__file__).parent / "fixtures" / "languages"

# (name, start_line, end_line, desc, apiseq) of every function, in source order
EXPECTED = {
    "sample.js": [
        ("readJson", 3, 10, "Read a JSON file and return the parsed object.", "fs.readFileSync JSON.parse"),
        ("double", 13, 13, "", ""),
        ("Cache.constructor", 16, 20, "Create an empty cache.", "Map"),
        ("Cache.get", 22, 25, "Return the cached value for a key.", "entries.get"),
        ("helper", 28, 33, "", "String trim items.map"),
        ("inner", 29, 31, "", "String trim"),
    ],
    "sample.ts": [
        ("formatName", 6, 11, "Format a user's name for display.", "user.name.toUpperCase"),
        ("Registry.add", 16, 20, "Add an item and return the new size.", "items.push"),
        ("Registry.find", 22, 23, "Find the first item matching a predicate.", "items.find"),
    ],
    "Sample.java": [
        ("Sample.Sample", 9, 12, "Create a counter with nothing counted.", "counts.clear"),
        ("Sample.add", 14, 22, "Count one occurrence of a word.", "counts.merge System.out.println"),
        ("Sample.Inner.answer", 25, 28, "Return the answer to everything.", "Math.abs"),
    ],
    "sample.go": [
        ("Greet", 13, 17, "Greet returns a greeting for the given person.", "fmt.Sprintf strings.TrimSpace"),
        ("Server.Serve", 19, 22, "Serve prints the server's greeting.", "fmt.Println Greet"),
        ("helper", 24, 26, "", "len"),
    ],
    "sample.rs": [
        ("Counter.new", 9, 12, "Create an empty counter.", "HashMap.new"),
        ("Counter.add", 14, 20, "Count one word.", "counts.entry or_insert word.to_string"),
        ("main", 23, 27, "Run the counter once.", "Counter.new println!"),
    ],
    "sample.c": [
        ("safe_len", 4, 9, "Return the length of a string, or zero for NULL.", "strlen"),
        ("greet", 11, 15, "Print a greeting to standard output.", "printf fflush"),
        ("copy_n", 17, 20, "Copy at most n bytes of src into dst.", "strncpy"),
    ],
    "sample.cpp": [
        ("Sorted.insert", 9, 13, "Insert a value, keeping the list sorted.", "items_.push_back std.sort items_.begin items_.end"),
        ("Sorted.size", 21, 24, "Return how many values are stored.", "static_cast items_.size"),
    ],
    "sample.py": [
        ("read_json", 4, 7, "Read a JSON file and return the parsed object.", "open json.load"),
        ("Cache.get", 11, 13, "Return the cached value for a key.", "self.entries.get"),
    ],
}
LANGUAGE_OF = {"sample.js": "javascript", "sample.ts": "typescript", "Sample.java": "java", "sample.go": "go",
               "sample.rs": "rust", "sample.c": "c", "sample.cpp": "cpp", "sample.py": "python"}


def extract_fixture(name):
    files, _ = discover("fx", FIXTURES)
    (src,) = [f for f in files if f.relpath == name]
    res = process_file(src)
    assert res.skip_reason is None and not res.parse_errors
    return res.records


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_fields_exactly(name):
    recs = extract_fixture(name)
    assert [(r["name"], r["start_line"], r["end_line"], r["desc"], r["apiseq"]) for r in recs] == EXPECTED[name]
    assert {r["language"] for r in recs} == {LANGUAGE_OF[name]}


def test_every_language_has_a_fixture():
    assert sorted(set(LANGUAGE_OF.values())) == sorted(LANGUAGES)


def test_code_spans_doc_comment_to_end_of_body_dedented():
    js = {r["name"]: r for r in extract_fixture("sample.js")}
    assert js["Cache.get"]["code"] == ("/** Return the cached value for a key. */\nget(key) {\n"
                                       "  return this.entries.get(key);\n}\n")
    assert js["readJson"]["code"].startswith("/**\n * Read a JSON file") and js["readJson"]["code"].endswith("}\n")
    rs = {r["name"]: r for r in extract_fixture("sample.rs")}
    assert rs["Counter.add"]["code"].splitlines()[:3] == [
        "/// Count one word. Returns the new count.", "#[inline]", "pub fn add(&mut self, word: &str) -> usize {"]
    go = {r["name"]: r for r in extract_fixture("sample.go")}
    assert go["Greet"]["code"].startswith("// Greet returns a greeting for the given person.\n// It trims")


def test_identifier_tokens_are_split_and_skip_receivers_and_own_name():
    js = {r["name"]: r for r in extract_fixture("sample.js")}
    assert js["readJson"]["tokens"] == "path text fs read file sync json parse"
    assert js["helper"]["tokens"] == "items inner item string trim map"   # a nested function's name counts
    cpp = {r["name"]: r for r in extract_fixture("sample.cpp")}
    assert cpp["Sorted.size"]["tokens"] == "static cast items size"
    java = {r["name"]: r for r in extract_fixture("Sample.java")}
    assert "this" not in java["Sample.add"]["tokens"].split()


def test_syntax_error_keeps_other_functions_and_other_files(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ok.go").write_text((FIXTURES / "sample.go").read_text())
    (repo / "broken.js").write_text("function good(a) {\n  return a + 1;\n}\n\nfunction bad( {\n  return ;;; }}\n")
    (repo / "broken.py").write_text("def f(:\n")
    manifest = tmp_path / "repos.jsonl"
    write_manifest(manifest, [RepoRecord(name="t/mixed", source="local", url="https://example.org/t/mixed",
                                         sha="abc", path=str(repo))])
    out = tmp_path / "functions.csv"
    stats = extract(manifest, out, ExtractConfig(workers=1, progress=False))
    rows = list(read_functions(out))
    names = [(r["path"], r["name"]) for r in rows]
    assert ("broken.js", "good") in names
    assert [n for p, n in names if p == "ok.go"] == ["Greet", "Server.Serve", "helper"]
    assert stats.by_language["javascript"]["parse_errors"] == 1
    assert stats.by_language["go"]["parse_errors"] == 0
    assert stats.skipped["syntax errors"] == 1       # Python has no partial parse: the file is skipped
    assert "javascript 1 from 1 files (1 with parse errors)" in stats.summary()


def test_ignored_vendored_and_minified_files_are_skipped_and_counted(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "vendor" / "lib").mkdir(parents=True)
    (repo / "build").mkdir()
    (repo / "src" / "app.ts").write_text("export function run(): void {}\n")
    (repo / "src" / "secret.ts").write_text("export function hidden(): void {}\n")
    (repo / "src" / "app.min.js").write_text("function a(){}\n")
    (repo / "src" / "notes.txt").write_text("not code\n")
    (repo / "node_modules" / "left-pad" / "index.js").write_text("module.exports = function pad() {};\n")
    (repo / "vendor" / "lib" / "dep.go").write_text("package lib\nfunc Dep() {}\n")
    (repo / "build" / "out.js").write_text("function built() {}\n")
    (repo / ".gitignore").write_text("build/\n*.log\n")
    (repo / "src" / ".codesearchignore").write_text("secret.ts\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files, skipped = discover("r", repo)
    assert [(f.relpath, f.language) for f in files] == [("src/app.ts", "typescript")]
    assert skipped == {"node_modules": 1, "vendored": 1, "ignored": 2, "generated or minified": 1}


def test_negated_gitignore_pattern_and_manifest_excludes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.js").write_text("function x() {}\n")
    (tmp_path / "a" / "keep.js").write_text("function keep() {}\n")
    (tmp_path / "a" / "x_test.go").write_text("package a\nfunc TestX() {}\n")
    (tmp_path / "a" / ".gitignore").write_text("*.js\n!keep.js\n")
    files, skipped = discover("r", tmp_path, exclude=["*_test.go"])
    assert [f.relpath for f in files] == ["a/keep.js"]
    assert skipped == {"ignored": 2}


def test_header_language_is_sniffed(tmp_path):
    (tmp_path / "c.h").write_text("int add(int a, int b);\nstatic inline int one(void) { return 1; }\n")
    (tmp_path / "cpp.h").write_text("namespace n {\nclass A {\n public:\n  int get() { return 1; }\n};\n}\n")
    files, _ = discover("r", tmp_path)
    assert {f.relpath: f.language for f in files} == {"c.h": "c", "cpp.h": "cpp"}
    recs = {f.relpath: process_file(f).records for f in files}
    assert [r["name"] for r in recs["cpp.h"]] == ["A.get"] and [r["name"] for r in recs["c.h"]] == ["one"]


def test_named_function_expression_takes_the_statement_doc_comment(tmp_path):
    (tmp_path / "r.js").write_text("/**\n * Adds two values.\n */\nvar add = _curry2(function add(a, b) {\n"
                                   "  return Number(a) + Number(b);\n});\nitems.map(function (x) { return x; });\n")
    files, _ = discover("r", tmp_path)
    recs = process_file(files[0]).records
    assert [(r["name"], r["start_line"], r["end_line"], r["desc"]) for r in recs] == [("add", 1, 6, "Adds two values.")]
