# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench protos clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) bench/convert.py
	$(PY) bench/input_pipeline.py

# Regenerate jupyter_tlt/spec/protos/*_pb2.py after editing a .proto (generated code is committed).
protos: install
	$(PY) -m pip install -q '.[dev]'
	$(PY) -m jupyter_tlt.spec.build_protos

clean:
	rm -rf demo .pytest_cache build dist *.egg-info
