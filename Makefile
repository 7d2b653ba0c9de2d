# The project's two commands: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= published
EXTRAS ?= dev

# Offline, the JPEG copy of CIFAR-10 beside the project is the data source (docs/data.md).
SHARED_DATA := $(abspath ../shared/data/cifar10-jpeg.tar.gz)
ifeq ($(origin SEMISUP_DATA), undefined)
ifneq ($(wildcard $(SHARED_DATA)),)
export SEMISUP_DATA := $(SHARED_DATA)
endif
endif

# Matplotlib's font cache, one per environment: a cache shared across environments can name
# the fonts of a removed one (findfont warnings in the notebooks' outputs). Built at setup.
ifeq ($(origin MPLCONFIGDIR), undefined)
export MPLCONFIGDIR := $(abspath $(VENV))/mplconfig
endif

.PHONY: book test test-fast nbval test-kernels execute html setup clean-book references bench report-runs \
	lab lab-config publish

setup: $(VENV)/.installed $(VENV)/.fonts

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing semisup[$(EXTRAS)] into $(VENV), once: a few minutes (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install -e ".[$(EXTRAS)]" > $(VENV)/install.log 2>&1 \
		|| { tail -40 $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	@touch $@

$(VENV)/.fonts: $(VENV)/.installed
	@$(BIN)/python -c "import matplotlib.font_manager" 2> /dev/null
	@touch $@

# Execute every chapter with $(PROFILE), then render the book (warnings are errors).
book: execute html

execute: setup
	$(BIN)/semisup run --profile $(PROFILE)

html: setup
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html"

NBVAL := --nbval --nbval-sanitize-with tests/nbval/sanitize.cfg --nbval-current-env

# Two processes side by side, one per core: the reference notebooks (in order, in one kernel
# session per chapter) and every other test; their reports print one after the other, and the
# target fails if either fails. SERIAL=1 runs them one after the other, as does a thread count
# above one (OMP_NUM_THREADS=2: two such processes on two cores would fight over them).
ifneq ($(filter-out 1,$(OMP_NUM_THREADS)),)
SERIAL ?= 1
endif
test: setup
	@mkdir -p logs
	@if [ -n "$(SERIAL)" ]; then \
		$(BIN)/python -m pytest tests $(NBVAL) --durations=25; \
	else \
		$(BIN)/python -m pytest tests/nbval $(NBVAL) --durations=12 > logs/nbval.log 2>&1 & nbval=$$!; \
		$(BIN)/python -m pytest tests --ignore=tests/nbval --durations=25; units=$$?; \
		wait $$nbval; references=$$?; \
		echo "== the reference notebooks (nbval; log: logs/nbval.log)"; tail -n 40 logs/nbval.log; \
		echo "== unit tests: exit $$units; reference notebooks: exit $$references"; \
		[ $$units -eq 0 ] && [ $$references -eq 0 ]; \
	fi

# The fast lane, while editing the package: the unit tests not marked slow (`@pytest.mark.slow`:
# real data, long training, Ray, processes, chapters run), about a minute; every module of the
# package is imported and tested (tests/test_fast_lane.py). `make test` stays the full check.
test-fast: setup
	$(BIN)/python -m pytest tests --ignore=tests/nbval -m "not slow" --durations=10

# The nbval reference notebooks of some chapters with the project's flags, in the order named:
# `make nbval CHAPTERS="01_data 05_models_abc"` (names or numbers: 02 is 02_pca); all of them
# when CHAPTERS is empty. The same as `pytest tests/nbval/02_pca.ipynb --nbval` (tests/conftest.py
# sets these flags where the command line does not). The chapters share one empty results store,
# as in `make test`: one that reads the runs of earlier ones (11 reads those of 06 and 09)
# matches its reference only when they are named before it.
NBVAL_NOTEBOOKS = $(if $(strip $(CHAPTERS)),$(foreach c,$(CHAPTERS),$(or \
	$(wildcard tests/nbval/$(c).ipynb),$(wildcard tests/nbval/$(c)_*.ipynb),\
	$(error no reference notebook tests/nbval/$(c).ipynb or $(c)_*.ipynb))),tests/nbval)
nbval: setup
	$(BIN)/python -m pytest $(NBVAL_NOTEBOOKS) $(NBVAL)

# The nbval references again under other CPU kernel settings than they were made with (another
# thread count, AVX2 kernels only, no vectorised ATen kernels): what another machine does.
# KERNEL_SETTINGS holds one setting per word, its variables joined by commas. Before them, the
# unit tests that compare numbers computed two ways (Ray workers and a pool of processes against
# the local run, bf16 against fp32, ONNX Runtime against torch): KERNEL_TESTS, a few minutes.
KERNEL_SETTINGS ?= OMP_NUM_THREADS=2 ATEN_CPU_CAPABILITY=avx2,ONEDNN_MAX_CPU_ISA=AVX2 \
	ATEN_CPU_CAPABILITY=default
KERNEL_TESTS ?= tests/test_ray_executor.py::test_ray_gives_the_local_rows \
	tests/test_ray_executor.py::test_the_comparison_allows_kernels_not_other_runs \
	tests/test_ray_executor.py::test_killed_worker_is_retried \
	tests/test_runs.py::test_the_pool_of_processes_gives_the_rows_of_the_local_executor \
	tests/test_cnn_train.py::test_bf16_on_cpu_trains_and_predicts_close_to_fp32 \
	tests/test_cnn_train.py::test_channels_last_trains_in_that_format_deterministically \
	tests/test_features.py::test_onnxruntime_engine_matches_torch_and_is_cached_apart
test-kernels: setup
	@set -e; for setting in $(KERNEL_SETTINGS); do \
		run="env $$(echo $$setting | tr , ' ') $(BIN)/python -m pytest -q"; \
		$(if $(strip $(KERNEL_TESTS)),echo "== unit tests comparing numbers computed two ways \
			under $$setting"; $$run $(KERNEL_TESTS);) \
		echo "== nbval references under $$setting"; \
		$$run tests/nbval $(NBVAL); \
	done

# Re-execute the nbval reference notebooks at the smoke profile (on purpose, after a change
# that is meant to alter printed results); review `git diff tests/nbval` before committing.
references: setup
	$(BIN)/python -m semisup_utils.book.nbval_references tests/nbval $(CHAPTERS)

# The report's protocol (50 epochs, 7 values of M, Models A, B and C) for the published book, in
# the background: two one-thread jobs at low priority (one per core), each finished run appended
# to results/runs.jsonl; rerun to resume (stored runs are skipped). Progress: logs/report-*.log.
SEEDS ?= [0]
report-runs: setup
	@mkdir -p logs
	OMP_NUM_THREADS=1 nohup nice -n 19 $(BIN)/semisup sweep --profile paper -p seeds '$(SEEDS)' \
		-p M_list '[500, 5000, 40000, 1000]' > logs/report-a.log 2>&1 &
	OMP_NUM_THREADS=1 nohup nice -n 19 $(BIN)/semisup sweep --profile paper -p seeds '$(SEEDS)' \
		-p M_list '[20000, 10000, 2000]' > logs/report-b.log 2>&1 &

# JupyterLab on the chapters, installed into .venv (the `lab` extra, after the `dev` extra that
# every target's setup installs) and configured there only:
# `make lab`; as root in a container, `make lab LAB_ARGS=--allow-root` (any `jupyter lab` option,
# e.g. LAB_ARGS='--allow-root --ip=0.0.0.0 --no-browser'). Outputs are never saved to the .py.
LAB_ARGS ?=
LAB_SETTINGS ?= $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
LAB_SERVER_CONFIG ?= $(VENV)/etc/jupyter/jupyter_server_config.d

lab: $(VENV)/.lab-installed lab-config
	$(BIN)/jupyter lab $(LAB_ARGS)

$(VENV)/.lab-installed: $(VENV)/.installed
	@echo "installing semisup[lab] into $(VENV), once: a few minutes (log: $(VENV)/install-lab.log)"
	@$(BIN)/python -m pip install -e ".[lab]" > $(VENV)/install-lab.log 2>&1 \
		|| { tail -40 $(VENV)/install-lab.log; exit 1; }
	@touch $@

# A double click opens a .py chapter as a notebook (jupytext's documented default viewer for
# the "python" document type), and the server's pre-save hook drops the empty cell tags Lab's
# property inspector adds (semisup_utils/book/lab.py): both written to the environment's own Jupyter
# config, not ~/.jupyter.
lab-config:
	@$(BIN)/jupytext-config --settings-file $(LAB_SETTINGS) set-default-viewer python
	@echo "$(LAB_SETTINGS): .py files open as notebooks (Jupytext Notebook)"
	@$(BIN)/python -m semisup_utils.book.lab $(LAB_SERVER_CONFIG) > /dev/null
	@echo "$(LAB_SERVER_CONFIG)/semisup.json: empty cell tags are not saved"

# Publish the built book to the gh-pages branch (Jupyter Book's documented ghp-import route):
# `make book` first. GitHub Actions does the same on every push to main
# (.github/workflows/publish.yml, deployed to GitHub Pages without a gh-pages branch).
publish: $(VENV)/.publish-installed
	@test -f _build/html/index.html || { echo "no _build/html/index.html: run make book first"; exit 1; }
	$(BIN)/ghp-import -n -p -f _build/html

$(VENV)/.publish-installed: $(VENV)/.installed
	@$(BIN)/python -m pip install -e ".[publish]" > $(VENV)/install-publish.log 2>&1 \
		|| { tail -40 $(VENV)/install-publish.log; exit 1; }
	@touch $@

bench: setup
	$(BIN)/python bench/run_all.py

clean-book:
	rm -rf _build build
