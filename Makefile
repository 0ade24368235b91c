# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)
ROOT_OK := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install browser devkit demo lab test bench protos clean gpu-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# tf-keras (Keras 2) writes genuine TAO-style HDF5 files in tests; --no-deps: it asks for the full
	# `tensorflow` wheel, which would clash with tensorflow-cpu
	$(PY) -m pip install -q --no-deps 'tf-keras>=2.21,<2.22'
	$(VENV)/bin/jupyter-builder develop --overwrite .   # the TLT sidebar, linked into this venv's JupyterLab
	touch $(STAMP)

install: $(STAMP)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; }

# g++ and Boost headers to build the KITTI devkit for the KITTI_R40/R11 cross-check (its source is not
# in the repository: see bench/kitti_devkit.py; tests/test_kitti_devkit.py skips without it).
devkit:
	{ command -v g++ >/dev/null 2>&1 && test -d /usr/include/boost; } || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends g++ libboost-dev; }

# JupyterLab on the tutorial notebooks, with the TLT sidebar.
lab: install
	$(VENV)/bin/jupyter lab $(ROOT_OK) notebooks/detection_tutorial.ipynb

test: install browser
	npm test --silent
	$(PY) -m pytest -q --durations=25 tests

bench: install devkit
	$(PY) bench/convert.py
	$(PY) bench/input_pipeline.py
	$(PY) bench/evaluate.py
	$(PY) bench/train_overhead.py
	$(PY) bench/train_detect.py
	$(PY) bench/prune.py
	$(PY) bench/export.py
	$(PY) bench/load_time.py
	$(PY) bench/kitti_devkit.py
	$(PY) bench/registry.py
	$(PY) bench/sidebar.py

# On a machine with an NVIDIA GPU (issue 19): installs the [gpu,tensorrt] extras if missing, trains at
# 480x272 with --gpus 1, exports FP32/FP16/INT8, builds and evaluates TensorRT engines, times them at
# batch 1/8/32; writes bench/results/gpu/report.json. Without a GPU it runs the CPU parts and says why.
gpu-check: install
	$(PY) bench/gpu.py

# Regenerate jupyter_tlt/spec/protos/*_pb2.py after editing a .proto (generated code is committed).
# protoc comes from grpcio-tools 1.74 (protobuf 6.31.1-level code) in a throwaway venv, so the
# generated code stays importable by every protobuf runtime the package accepts.
protos:
	test -x build/protoc-venv/bin/python || $(PYTHON) -m venv build/protoc-venv
	build/protoc-venv/bin/pip install -q 'grpcio-tools==1.74.0'
	build/protoc-venv/bin/python jupyter_tlt/spec/build_protos.py

clean:
	rm -rf demo .pytest_cache build dist *.egg-info test-artifacts labextension/lib jupyter_tlt/labextension
