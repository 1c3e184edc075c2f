# stealsync: everything a clean machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SRC    ?=
DST    ?=
ARGS   ?=

.PHONY: help install apt-deps sync demo test test-long lint bench bench-full bench-linux bench-scaling profile clean

help:
	@echo "make sync SRC=dir DST=dir [ARGS='--delete -i']  mirror SRC into DST"
	@echo "make demo                                       generate a sample tree and sync it"
	@echo "make test | test-long | lint                    tests (fast / long) and ruff"
	@echo "make bench | bench-full | bench-linux           benchmarks against cp -a, rsync, rclone"
	@echo "make bench-scaling                              1 vs 2 workers, busy-time spread, memory 100k vs 1M"
	@echo "make profile SRC=dir DST=dir                    a profiled sync (merged cProfile stats)"

$(STAMP): pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

install: $(STAMP)

# Debian tools the tests use as oracles (rsync, git). Installed only when
# missing, and only as root; otherwise the tests that need them say so.
apt-deps:
	@missing=""; for t in rsync git; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing:$$missing (run as root or install them)"; fi; \
	fi

sync: $(STAMP)
	@test -n "$(SRC)" -a -n "$(DST)" || { echo "usage: make sync SRC=dir DST=dir [ARGS=...]"; exit 1; }
	$(BIN)/stealsync sync "$(SRC)" "$(DST)" $(ARGS)

demo: $(STAMP)
	rm -rf /tmp/stealsync-demo && mkdir -p /tmp/stealsync-demo
	$(BIN)/python scripts/mktree.py /tmp/stealsync-demo/src --shape small --files 5000 --seed 1
	$(BIN)/stealsync sync /tmp/stealsync-demo/src /tmp/stealsync-demo/dst --delete --json --no-progress \
	  | $(BIN)/python -c "import json,sys; r=json.load(sys.stdin); print({k: r[k] for k in ('files_total','files_copied','bytes_copied','elapsed_s','workers','mode','exit_code')})"
	$(BIN)/python scripts/mktree.py /tmp/stealsync-demo/src --shape small --files 5000 --seed 1 --mutate 2
	@echo "--- re-sync after mutating 2% of the files (itemized):"
	$(BIN)/stealsync sync /tmp/stealsync-demo/src /tmp/stealsync-demo/dst --delete -i --no-progress | head -20
	@echo "--- rsync's verdict on the mirror (no lines = identical):"
	@command -v rsync >/dev/null && rsync -ain --delete /tmp/stealsync-demo/src/ /tmp/stealsync-demo/dst/ || echo "(rsync not installed)"

test: $(STAMP) apt-deps
	$(BIN)/pytest -q -p no:cacheprovider tests

test-long: $(STAMP) apt-deps
	$(BIN)/pytest -q -p no:cacheprovider -m long tests

lint: $(STAMP)
	$(BIN)/ruff check engine tests scripts perf

bench: $(STAMP)
	$(BIN)/python perf/bench.py --quick

bench-full: $(STAMP)
	$(BIN)/python perf/bench.py --full --corpora small-100k,linux-6.1 --out perf/results/$$(date +%F)-full.json

bench-linux: $(STAMP)
	$(BIN)/python perf/bench.py --linux

# Engine targets: 1 vs 2 workers on --checksum (skewed 100k), busy-time
# spread (tmpfs), and summed PSS at 100k and 1M files (on disk: ~25 GB free).
bench-scaling: $(STAMP)
	$(BIN)/python perf/scaling.py --no-memory
	$(BIN)/python perf/scaling.py --memory-only --root /var/tmp/stealsync-memory --memory-files 100000 1000000

PROFILE_DIR ?= profile-out
profile: $(STAMP)
	@test -n "$(SRC)" -a -n "$(DST)" || { echo "usage: make profile SRC=dir DST=dir"; exit 1; }
	$(BIN)/stealsync sync "$(SRC)" "$(DST)" --no-progress --profile "$(PROFILE_DIR)" $(ARGS)
	@echo "merged: $(PROFILE_DIR)/merged.prof  (python -m pstats / snakeviz)"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
