# One target per pipeline stage; every target bootstraps .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
DATA   ?= data
MODEL  ?= $(DATA)/model
INDEX  ?= $(DATA)/index
PORT   ?= 8000
HOST   ?= 127.0.0.1
CORPUS ?=
TOP    ?= 100
TRAIN_CONFIG ?= asym
PRETRAINED := codenn/pretrained
# the index uses a model trained here when there is one, else the model shipped in the repository
INDEX_MODEL ?= $(if $(wildcard $(MODEL)/model.safetensors),$(MODEL),$(PRETRAINED))

.PHONY: help venv corpus extract dataset train index serve crawl eval bench tensorboard demo test export-model \
        codegen-train codegen-train-rag humaneval humaneval-setup bench-humaneval bench-humaneval-rag bench-extract bench-web bench-sync bench-mcp bench-busy bench-scale-quality bench-10m browser-deps clean

help:
	@echo "make demo   - whole pipeline on the default corpus (stdlib + site-packages; Go stdlib and npm where installed), then serve"
	@echo "make test   - run the test suite"
	@echo "stages: corpus extract dataset train index serve crawl eval bench tensorboard codegen-train"
	@echo "benchmarks: bench-extract bench-web bench-sync bench-mcp bench-busy bench-pypi bench-scale-quality bench-10m bench-humaneval bench-humaneval-rag (after codegen-train-rag)"

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,distributed]'
	touch $@

venv: $(VENV)/.installed

corpus: venv
	$(PY) -m crawler local --out $(DATA)/repos.jsonl $(if $(CORPUS),$(CORPUS),--default)

extract: venv
	$(PY) -m preprocess extract --repos $(DATA)/repos.jsonl --out $(DATA)/functions.csv

dataset: venv
	$(PY) -m preprocess dataset --functions $(DATA)/functions.csv --out $(DATA)/dataset \
	  --subword preprocess/wordpiece.json --vocab-size 16000

# the asym and bag models learn from MiniLM (an install requirement): asym's teacher also encodes code at index time
train: venv
	$(PY) -m codenn.train --data $(DATA)/dataset --out $(MODEL) --config $(TRAIN_CONFIG) --functions $(DATA)/functions.csv

# TEACHER=all gives every function MiniLM's vector (opt-in: ~80 min on two cores for the default corpus)
TEACHER ?= auto
index: venv
	$(PY) -m index build --data $(DATA)/dataset --functions $(DATA)/functions.csv --model $(INDEX_MODEL) --out $(INDEX) \
	  --teacher $(TEACHER)

serve: venv
	$(PY) -m webapp --index $(INDEX) --host $(HOST) --port $(PORT)

crawl: venv
	$(PY) -m crawler github --out $(DATA)/repos.jsonl --repos-dir $(DATA)/repos

crawl-pypi: venv
	$(PY) -m crawler pypi --top $(TOP) --out $(DATA)/repos.jsonl --repos-dir $(DATA)/repos

bench-extract: venv
	$(PY) -m benchmarks.speed.extraction --workers 1,2 --pipeline

bench-web: venv
	$(PY) -m benchmarks.speed.web_load --index $(INDEX) --clients 1,8,32 --requests 10000

bench-sync: venv
	$(PY) -m benchmarks.speed.sync_speed --out $(DATA)/bench/sync_speed.json

# make index of a 50k slice alone, then two copies at once: the pair's wall time over the single's (bound 2.3x)
bench-busy: venv
	$(PY) -m benchmarks.speed.busy_machine --functions $(DATA)/functions.csv --rows 50000 --model $(INDEX_MODEL)

bench-mcp: venv
	$(PY) -m benchmarks.speed.mcp_latency --index $(INDEX) --calls 1000 --out $(DATA)/bench/mcp_latency.json

bench-pypi: venv
	$(PY) -m benchmarks.scale.pypi_corpus --tops 100,500 --data $(DATA)/pypi_corpus

# cosqa-dev's pool + DISTRACTORS functions: ANN vs exact MRR/S@10 and recall@10; ends with one JSON line
# (SCALE_SET="vectors.kind=ivfpq vectors.refine=sq8": index settings instead of the size's choice;
# SCALE_INDEX=data/index: real distractors and their vectors from that index instead of encoding them)
DISTRACTORS ?= 0
SCALE_SET ?=
SCALE_INDEX ?=
bench-scale-quality: venv
	$(PY) -m benchmarks.scale.scale_quality --distractors $(DISTRACTORS) --model $(INDEX_MODEL) \
	  --functions $(DATA)/functions.csv $(foreach s,$(SCALE_SET),--set $(s)) $(if $(SCALE_INDEX),--index $(SCALE_INDEX)) \
	  --out $(DATA)/bench/scale_quality_$(DISTRACTORS).json

# the 10M build to the end (resumable: run it again after a kill), then the searcher in a fresh process
bench-10m: venv
	$(PY) -m benchmarks.scale.index_10m --model $(INDEX_MODEL) --size 10000000 --resume \
	  $(if $(SCALE_INDEX),--base-index $(SCALE_INDEX),--functions $(DATA)/functions.csv) \
	  --queries 500 --recall-queries 500 --nprobe 16,32,64,128 --out $(DATA)/bench/index_10m.json

# cosqa-dev (web queries) and docstring -> code on 2,000 pairs of the default corpus's test split
eval: venv
	$(PY) -m pip install -q -e '.[peers]'
	$(PY) -m benchmarks.quality.quality ../shared/bench/cosqa-dev.jsonl --model $(INDEX_MODEL)
	$(PY) -m benchmarks.quality.docstring_set --data $(DATA)/dataset --functions $(DATA)/functions.csv --split test \
	  --limit 2000 --out $(DATA)/bench/default-test.jsonl
	$(PY) -m benchmarks.quality.quality $(DATA)/bench/default-test.jsonl --model $(INDEX_MODEL) --chart docs/quality-default-test.png

bench: venv
	$(PY) -m pip install -q -e '.[peers]'
	$(PY) -m benchmarks.speed.speed

tensorboard: venv
	$(VENV)/bin/tensorboard --logdir $(MODEL) --host 127.0.0.1 --port 6006

codegen-train: venv
	$(PY) -m codegen.train --functions $(DATA)/functions.csv --out $(DATA)/codegen --config tiny

# the demo indexes with the shipped model (no training); `make train` retrains it from scratch
# a 1024-token context leaves room for retrieved functions: HumanEval with and without retrieval
codegen-train-rag: venv
	$(PY) -m codegen.train --functions $(DATA)/functions.csv --out $(DATA)/codegen-rag --config tiny-1k

bench-humaneval-rag: venv humaneval-setup
	$(PY) -m benchmarks.codegen.humaneval_rag --model $(DATA)/codegen-rag --index $(INDEX) --retrieve 3

codegen-sample: venv
	$(PY) -m codegen.sample --model $(DATA)/codegen --language python --prompt 'def read_json(path):' --n 3 --seed 0

codegen-bench: venv
	$(PY) -m benchmarks.codegen.codegen_speed train --config tiny
	$(PY) -m benchmarks.codegen.codegen_speed sample --config tiny
	$(PY) -m benchmarks.codegen.codegen_quality --model $(DATA)/codegen

# the page is up once a quick index (no transformer) is built; the full index builds beside it and swaps in
demo: venv
	$(MAKE) corpus extract dataset
	$(PY) -m webapp.demo --functions $(DATA)/functions.csv --model $(INDEX_MODEL) --index $(INDEX) --teacher $(TEACHER) \
	  --host $(HOST) --port $(PORT)

export-model: venv
	$(PY) -m codenn.export --model $(MODEL) --data $(DATA)/dataset --out $(PRETRAINED)

browser-deps:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 || \
	    echo "browser-deps: could not install chromium; the browser test will be skipped"; }

humaneval-setup:
	bash tests/setup_humaneval.sh

humaneval: venv humaneval-setup
	$(PY) -m codegen.humaneval --generate --model $(DATA)/codegen --lang humaneval --n 20 --max-new-tokens 64 --k 1,10 --samples $(DATA)/humaneval/samples.jsonl

bench-humaneval: venv humaneval-setup
	$(PY) -m benchmarks.codegen.humaneval_harness --out $(DATA)/bench/humaneval_harness.json

test: venv browser-deps humaneval-setup
	$(PY) -m pytest tests

clean:
	rm -rf $(DATA)/* build *.egg-info
