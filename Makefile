# Every target that runs Python depends on `setup`, so each works as the first command on a
# fresh clone: it makes .venv and installs the package with its test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= results/demo-$(shell date +%Y%m%d-%H%M%S)
# 5 repeats a side: the fewest with which a gate on its three default metrics can call a change
# significant (exact Mann-Whitney at 0.05 split over them); interleaved, each in its own layout.
DEMO_ARGS := --cycles 50 --sample-every 10 --repeat 5
BENCH_DIR ?= results/bench-$(shell date +%Y%m%d-%H%M%S)
# `make test` runs the suite on this many pytest-xdist workers, then the tests marked `serial`
# alone (they start burners or time kills against a writer). 4 on CI's 2 cores: many tests wait
# (a 10 s lock timeout, kills after a delay, workers' start-up), and 4 beat 2 by about 20%.
TEST_WORKERS ?= 4
# Which design wins at which size: 4 stores x 2 workloads x 4 sizes (48 cells with --reuse
# both). 3 repeats give each line 12 values, enough for an exponent's 95% interval; 3 cycles
# after 1 warm-up (latefile's first cycle writes its blobs and fills its caches) keep the 30 MB
# cells, most of the time, short: 5 cycles took 6 min 40 s at a load of 4-5 on 2 shared cores
# but 11 min 20 s at 5-8. SIZES=...,100000 opts into 100 MB cells.
SIZES ?= 1000,3000,7600,30000
STORES ?= wholefile,snapshot,latefile,sqlite
# RUNTIME=node with STORES=wholefile,snapshot,latefile: Node < 22.5 has no SQLite module
RUNTIME ?= python
SWEEP_DIR ?= results/sweep-$(shell date +%Y%m%d-%H%M%S)
SWEEP_ARGS := --workload full,entry --cycles 3 --sample-every 3 --warmup-cycles 1 --repeat 3

.PHONY: help setup demo notebook analyse test stress bench sweep ops-table lint clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

setup: $(STAMP) ## Create .venv and install the package with its test extras

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: setup ## Generate a 7600 KB store, measure wholefile vs snapshot+reuse interleaved, compare
	@set -e; dir=$(DEMO_DIR); mkdir -p $$dir; \
	$(BIN)/harness generate --profile realistic --target-kb 7600 --seed 1 -o $$dir/sessions.json; \
	$(BIN)/harness ab wholefile snapshot+reuse --store-file $$dir/sessions.json $(DEMO_ARGS) \
		-o $$dir/ab; \
	$(BIN)/harness compare $$dir/ab/before $$dir/ab/after -o $$dir/compare; \
	echo "demo report: $$dir/compare/report.md"

notebook: setup ## Execute notebooks/compare_runs.ipynb on the newest demo
	@set -e; dir=$$(ls -d results/demo-* 2>/dev/null | tail -1); \
	if [ -z "$$dir" ]; then echo "no demo yet: run make demo first"; exit 2; fi; \
	$(BIN)/python -m session_store_harness.writers.notebook $$dir/ab/before $$dir/ab/after $$dir/compare_runs.ipynb

analyse: setup ## Execute notebooks/analyse_results.ipynb on FOLDERS="run, ab, compare or sweep folders"
	@set -e; if [ -z "$(FOLDERS)" ]; then echo 'give FOLDERS="DIR ..."'; exit 2; fi; \
	out=$$(echo $(FOLDERS) | cut -d' ' -f1)-analysis.ipynb; \
	$(BIN)/python -m session_store_harness.writers.notebook --analyse $$out $(FOLDERS)

test: setup ## Lint, then run the test suite (slow stress tests excluded)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m 'not stress and not serial'
	$(BIN)/python -m pytest -q -m 'serial and not stress'

stress: setup ## Run the slow soak and stress tests only
	$(BIN)/python -m pytest -q -m stress

bench: setup ## Benchmarks: generator time and peak RSS (7600 KB, 1 GiB), pyperf timings per store
	@set -e; dir=$(BENCH_DIR); mkdir -p $$dir; \
	$(BIN)/harness check-memory --limit-mb 100 --name generate-7600KB -- \
		$(BIN)/harness generate --target-kb 7600 -o $$dir/store-7600.json; \
	$(BIN)/harness check-memory --limit-mb 100 --name generate-1GiB -- \
		$(BIN)/harness generate --target-kb 1048576 -o $$dir/store-1GiB.json; \
	rm -f $$dir/store-1GiB.json; \
	for store in wholefile snapshot snapshot-lean; do \
		$(BIN)/harness bench --store $$store --target-kb 7600 --fast -o $$dir/$$store.json; \
	done; \
	$(BIN)/python -m pyperf compare_to $$dir/wholefile.json $$dir/snapshot.json \
		$$dir/snapshot-lean.json --table; \
	echo "bench results: $$dir"

sweep: setup ## Sweep STORES over SIZES (KB; add 100000 to opt in), both workloads, and report it
	@set -e; dir=$(SWEEP_DIR); \
	$(BIN)/harness sweep --runtime $(RUNTIME) --sizes $(SIZES) --stores $(STORES) $(SWEEP_ARGS) -o $$dir; \
	mkdir -p $$dir-report; \
	$(BIN)/harness report $$dir -o $$dir-report/report.md; \
	echo "sweep report: $$dir-report/report.md"

ops-table: setup ## Print the README's table of each store's whole-store operations per cycle
	$(BIN)/python -m session_store_harness.measuring.store_ops

lint: setup ## ruff lint only
	$(BIN)/ruff check .

clean: ## Remove the venv and caches (results/ is kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
