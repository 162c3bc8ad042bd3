# Two entry points for a fresh machine: `make book` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTEBOOKS ?= $(shell find notebooks -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path '*/assignments/*' | sort)

.PHONY: book test notebooks lint benchmarks

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

# Re-execute notebooks top to bottom in default (full-data) mode and store their outputs:
#   make notebooks                       every notebook
#   make notebooks NOTEBOOKS=path.ipynb  one notebook
notebooks: $(VENV)/.installed
	for nb in $(NOTEBOOKS); do \
	  env -u D2L_REDUCED $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done

lint: $(VENV)/.installed
	$(BIN)/ruff check .

benchmarks: $(VENV)/.installed
	$(BIN)/python benchmarks/fashion_mnist_loading.py
	$(BIN)/python benchmarks/animator_overhead.py
	$(BIN)/python benchmarks/lenet_training.py  # needs: $(BIN)/pip install --no-deps d2l==1.0.3
