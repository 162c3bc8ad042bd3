# Two entry points for a fresh machine: `make book` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTEBOOKS ?= $(shell find notebooks -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path '*/assignments/*' | sort)

.PHONY: book test test-portable test-portable-default test-portable-avx2 notebooks lint benchmarks \
	site screenshots

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -e ".[book,test]"
	touch $@

book: $(VENV)/.installed
	$(BIN)/python -m d2lhelpers doctor || true
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# The notebooks again, as learners' CPUs compute them: PyTorch's portable kernels (no SIMD) with
# MKL held to SSE4.2 on one thread, then the AVX2 kernels. The stored outputs must not change.
PORTABLE_DEFAULT := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 OMP_NUM_THREADS=1
PORTABLE_AVX2 := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2

test-portable: test-portable-default test-portable-avx2

test-portable-default: $(VENV)/.installed
	env $(PORTABLE_DEFAULT) $(BIN)/python -m pytest notebooks

test-portable-avx2: $(VENV)/.installed
	env $(PORTABLE_AVX2) $(BIN)/python -m pytest notebooks

# Re-execute notebooks top to bottom in default (full-data) mode and store their outputs:
#   make notebooks                       every notebook
#   make notebooks NOTEBOOKS=path.ipynb  one notebook
notebooks: $(VENV)/.installed
	for nb in $(NOTEBOOKS); do \
	  env -u D2L_REDUCED $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done

# The website, from the stored outputs (nothing is executed), into build/site. Sphinx reads a
# copy of notebooks/ beside the site's own pages (see site/conf.py); the scripts the pages
# load (MathJax, the ipywidgets embed manager) come from npm, pinned in site/package-lock.json.
SITE_SRC := build/site-src

$(VENV)/.installed-site: $(VENV)/.installed
	$(BIN)/python -m pip install -e ".[site]"
	touch $@

site/node_modules/.package-lock.json: site/package-lock.json
	@command -v npm >/dev/null || { echo "make site needs Node.js and npm:" \
	  "install them with your system's package manager (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix site --no-audit --no-fund

site: $(VENV)/.installed-site site/node_modules/.package-lock.json
	rm -rf $(SITE_SRC) && mkdir -p $(SITE_SRC)
	cp -r site/index.md site/api.md notebooks $(SITE_SRC)/
	$(BIN)/sphinx-build -b html -q -W --keep-going -c site -d build/site-doctrees $(SITE_SRC) build/site
	@echo "The site is in build/site: python -m http.server -d build/site, then open http://localhost:8000"

# The README's pictures, as the browser tests last saved them (run make site and make test first).
screenshots:
	cp build/screenshots/site-quick-tour.png build/screenshots/jupyterlab-quick-tour.png docs/

lint: $(VENV)/.installed
	$(BIN)/ruff check .

benchmarks: $(VENV)/.installed
	$(BIN)/python benchmarks/fashion_mnist_loading.py
	$(BIN)/python benchmarks/animator_overhead.py
	$(BIN)/python benchmarks/seed_spread.py
	$(BIN)/python benchmarks/assignment_thresholds.py
	$(BIN)/python benchmarks/cnn_throughput.py
	$(BIN)/python benchmarks/language_model_selection.py --model gru --epochs 10
	$(BIN)/python benchmarks/lenet_training.py  # needs: $(BIN)/pip install --no-deps d2l==1.0.3
	$(BIN)/python benchmarks/seq2seq_selection.py --embed 64 --hidden 128 --layers 1 --epochs 12
	$(BIN)/python benchmarks/language_model_speed.py --repeats 3  # needs d2l 0.17.6's wheel, see the script
