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
	$(PY) bench/evaluate.py
	$(PY) bench/train_overhead.py
	$(PY) bench/train_detect.py

# Regenerate jupyter_tlt/spec/protos/*_pb2.py after editing a .proto (generated code is committed).
# protoc comes from grpcio-tools 1.74 (protobuf 6.31.1-level code) in a throwaway venv, so the
# generated code stays importable by every protobuf runtime the package accepts.
protos:
	test -x build/protoc-venv/bin/python || $(PYTHON) -m venv build/protoc-venv
	build/protoc-venv/bin/pip install -q 'grpcio-tools==1.74.0'
	build/protoc-venv/bin/python jupyter_tlt/spec/build_protos.py

clean:
	rm -rf demo .pytest_cache build dist *.egg-info
