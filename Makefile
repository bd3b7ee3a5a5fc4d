# mmseg-dibe: `make demo` and `make test` do all their own set-up.
SHELL := /bin/bash
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STACK   := requirements/stack.txt
# Read one pin from the single pin file, e.g. $(call pin,torch) -> torch==2.13.0
pin = $(shell grep -E '^$(1)([=<>!~ ]|$$)' $(STACK))
STAMP   := $(VENV)/.installed
DEMO_DATA ?= data/synthetic_crack_demo
DEMO_CFG  ?= configs/demo/unet-s5-tiny_dibe_synthetic-64x64.py
DEMO_WORK ?= work_dirs/demo

.PHONY: venv test test-fast demo data bench clean help
help:
	@echo "make demo   - set up, make synthetic data, train + evaluate a small U-Net"
	@echo "make test   - set up and run the test suite"
	@echo "make venv   - create $(VENV) with the pinned stack (quick when done)"
	@echo "make bench  - loss speed/memory benchmark"

venv: $(STAMP)

# The stack is installed in the order that works (see requirements/stack.txt):
# torch first, then setuptools<70 (mmcv 2.1.0's setup.py imports
# pkg_resources), then mmcv built from its sdist with ops and without build
# isolation so it compiles against this torch (CUDA ops when CUDA is present,
# CPU ops otherwise; pip caches the wheel, so a rebuild is quick), then the
# rest and this package in editable mode.
$(STAMP): $(STACK) setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(call pin,torch)"
	$(PIP) install -q "$(call pin,setuptools)" wheel numpy
	$(PY) -c "import mmcv, mmcv.ops" 2>/dev/null || \
	  MMCV_WITH_OPS=1 $(PIP) install --no-build-isolation "$(call pin,mmcv)"
	$(PIP) install -q "$(call pin,mmengine)" "$(call pin,mmsegmentation)" \
	  "$(call pin,ftfy)" "$(call pin,regex)"
	$(PIP) install -q --no-build-isolation --no-deps -e .
	$(PIP) install -q pytest pytest-timeout pytest-xdist scipy matplotlib pillow
	$(PY) -c "import mmcv.ops, mmseg, mmseg_dibe; print('stack ready:', mmseg.__version__)"
	touch $(STAMP)

# pytest exits 5 when it collects no test: that is a failure, not a pass.
# Two pytest-xdist workers (one per core, one thread each; tests/conftest.py),
# test files kept whole on one worker so module fixtures are built once.
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: venv
	@$(PY) -c "import xdist" 2>/dev/null || $(PIP) install -q pytest-xdist
	$(PY) -m pytest tests -q -ra $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; \
	  exit $$rc

test-fast: venv
	$(PY) -m pytest tests -q -ra -m "not slow"

data: venv
	test -d $(DEMO_DATA)/img_dir || $(PY) tools/data/make_synthetic.py $(DEMO_DATA) \
	  --num-train 400 --num-val 100 --size 64 --ratio 0.004 --seed 0

demo: venv data
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_WORK)
	$(PY) tools/test.py $(DEMO_CFG) "$$(cat $(DEMO_WORK)/last_checkpoint)" \
	  --work-dir $(DEMO_WORK)/test
	@echo "demo: training log in $$(ls -d $(DEMO_WORK)/2*/ | tail -1)," \
	  "checkpoint $$(cat $(DEMO_WORK)/last_checkpoint)," \
	  "test metrics in $(DEMO_WORK)/test/"

bench: venv
	$(PY) benchmarks/losses.py

clean:
	rm -rf work_dirs data/synthetic_crack_demo
