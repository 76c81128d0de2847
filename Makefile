# ocrflow - every target sets up what it needs on a fresh machine.
#   make demo    deploy the CDK app into a local AWS emulator and OCR the samples through the S3 trigger
#                (default: routed, pdfmage's fake then the embedded engine; PROVIDER=tesseract|ocrspace|adobe|
#                pdfocr|pdfmage|yandex: that provider only, REST ones through their fakes)
#   make demo-cli the same samples through the command line only (no AWS parts)
#   make test    the whole offline test suite
#   make bench   speed / size / accuracy figures vs OCRmyPDF, accuracy on real and damaged scans vs OCRmyPDF and
#                RapidOCR, the pipeline figures, the AWS cost model, the
#                fan-out's latency and cost, and the local stack's documents per minute (not part of make test)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
APT    := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)
# a setup phase said as it runs: its name, a status line (seconds, pip's packages), its time; output in a log
PHASE  := $(PYTHON) tools/run_phase.py
LOGS   := build/logs

.PHONY: demo demo-cli test bench schema lint clean system-test-deps layer synth local-tools
PROVIDER ?= auto

# The local stack (pinned): ministack, a pure-Python AWS emulator, in its own venv - it runs the Lambda
# handlers with its own interpreter, so it also plays the Lambda runtime (boto3 comes with it, as in Lambda);
# the aws-cdk CLI from npm (package.json); the core layer built for that interpreter.
MINISTACK     := ministack==1.5.33
STACK_VENV    := build/stack-venv
STACK_STAMP   := $(STACK_VENV)/.installed-1.5.33
LOCAL_LAYER   := build/layer-local
# The layer's processor: `make layer ARCH=arm64` builds build/layer-arm64 from aarch64 wheels, for
# `cdk deploy -c ocrflow:architecture=arm64` (Graviton). pip needs every manylinux tag spelled out for it.
ARCH          ?= x86_64
WHEEL_ARCH    := $(if $(filter arm64 aarch64,$(ARCH)),aarch64,x86_64)
LAYER_DIR     := $(if $(filter aarch64,$(WHEEL_ARCH)),build/layer-arm64,build/layer)
LAMBDA_WHEELS := --platform manylinux_2_28_$(WHEEL_ARCH) --platform manylinux_2_17_$(WHEEL_ARCH) \
	--platform manylinux2014_$(WHEEL_ARCH) --implementation cp --python-version 3.12
# the runtime ships boto3/botocore; the CLI's console libraries and the fakes' web server are not needed in Lambda
LAYER_TRIM    := boto3 boto3-* botocore botocore-* s3transfer s3transfer-* pygments pygments-* rich rich-* \
	markdown_it markdown_it_py-* mdurl mdurl-* werkzeug werkzeug-* bin numpy/*/tests numpy/tests

# A Lambda layer at $(1): the ocrflow wheel and its dependencies installed by the interpreter $(2) with pip
# options $(3), trimmed. pip's output goes to $(1).pip.log and is shown only when it fails.
define build_layer
	@rm -rf $(1) $(1)-wheels && mkdir -p $(1)/python $(1)-wheels
	@$(PHASE) "the Lambda layer $(1): an ocrflow wheel of this tree (~5 s) ..." $(1).wheel.log -- \
		$(PY) -m pip wheel --no-deps -w $(1)-wheels .
	@$(PHASE) "... and its dependencies (~25 s)" $(1).pip.log -- \
		$(2) -m pip install --target $(1)/python --only-binary=:all: $(3) $(1)-wheels/ocrflow-*.whl \
		'aws-lambda-powertools[tracer]'
	@cd $(1)/python && rm -rf $(LAYER_TRIM)
	@find $(1) -name __pycache__ -type d -prune -exec rm -rf {} +
endef

$(STAMP): pyproject.toml
	@echo "==> setting up: Python packages, then the local stack's tools (~2.5 min on a fresh clone, more if nothing is in the download caches)"
	@$(PHASE) "creating $(VENV)" $(LOGS)/venv.log -- $(PYTHON) -m venv $(VENV)
	@$(PHASE) "Python packages into $(VENV): ocrflow[dev,aws,infra,second-engine] (~100 packages, ~1.5 min)" \
		$(LOGS)/pip-venv.log -- $(PY) -m pip install --progress-bar off -e '.[dev,aws,infra,second-engine]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# pdftotext (poppler-utils) is how the tests check what a PDF reader extracts from our searchable PDFs;
# Debian's chromium is the browser the web page's tests drive with Playwright (never `playwright install`).
system-test-deps:
	@command -v pdftotext >/dev/null || { $(PHASE) "apt: poppler-utils (pdftotext)" $(LOGS)/apt-poppler.log -- \
		sh -c '$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq poppler-utils'; }
	@[ -x /usr/bin/chromium ] || { $(PHASE) "apt: chromium, for the web page's browser test (~1 min)" \
		$(LOGS)/apt-chromium.log -- sh -c '$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium'; }

demo: $(STAMP) local-tools
	@echo "==> the demo: emulator, cdk deploy, five samples through the S3 trigger, one through the API (~1.5 min)"
	$(PY) -m ocrflow.cli stack-demo --samples events/samples --output out/stack-demo --provider $(PROVIDER)

demo-cli: $(STAMP)
	$(PY) -m ocrflow.cli demo --samples events/samples --output out/demo --provider $(subst auto,tesseract,$(PROVIDER))

$(STACK_STAMP):
	@$(PHASE) "the AWS emulator: $(MINISTACK) and boto3 into $(STACK_VENV) (~15 s)" $(LOGS)/stack-venv.log -- \
		sh -c '$(PYTHON) -m venv $(STACK_VENV) && $(STACK_VENV)/bin/python -m pip install --progress-bar off \
		"$(MINISTACK)" boto3'
	@touch $(STACK_STAMP)

node_modules/.bin/cdk: package.json package-lock.json
	@$(PHASE) "the aws-cdk CLI from npm (npm ci; seconds when cached)" $(LOGS)/npm-ci.log -- npm ci --no-audit --no-fund
	@touch node_modules/.bin/cdk

# the layer for the emulator: ocrflow as it is now (rebuilt on every run: a wheel of the working tree, ~20 s)
local-tools: $(STAMP) $(STACK_STAMP) node_modules/.bin/cdk
	$(call build_layer,$(LOCAL_LAYER),$(STACK_VENV)/bin/python,)

test: $(STAMP) system-test-deps local-tools
	$(VENV)/bin/ruff check src tests tools bench functions infra
	$(PY) -m pytest -n 2 --dist loadscope -q -m "not e2e"
	@# the end-to-end tests share one local stack: one process, deployed once
	$(PY) -m pytest -q -m e2e

schema: $(STAMP)
	$(PY) -m ocrflow.cli schema --write schemas/document.v1.schema.json
	$(PY) -m ocrflow.cli schema --openapi --write schemas/openapi.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench tools functions

# The Lambda layer: ocrflow and its dependencies as manylinux wheels for the python3.12 runtime ($(ARCH)),
# with their bytecode compiled by a CPython 3.12 (the runtime's magic number): /opt is read-only in Lambda, so
# a layer without .pyc files is compiled again on every cold start (bench/pipeline_figures.py: 1.7-2.0 s vs
# 0.5-0.7 s per handler). Hash-based .pyc (unchecked): valid whatever time stamps the zip gives the sources.
# The machine image's pyenv has a 3.12; without one the layer is built without bytecode, with a warning.
PY312 ?= $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12)),$(shell command -v python3.12))
layer: $(STAMP)
	$(call build_layer,$(LAYER_DIR),$(PY),$(LAMBDA_WHEELS))
	@if [ -n "$(PY312)" ] && $(PY312) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then \
		$(PY312) -m compileall -q -j0 --invalidation-mode unchecked-hash -d /opt/python $(LAYER_DIR)/python \
			>/dev/null && echo "layer bytecode compiled by $$($(PY312) -V)"; \
	else echo "WARNING: no CPython 3.12 found (PY312=...): the layer has no bytecode; cold starts compile it"; fi
	@du -sh $(LAYER_DIR) | sed 's/^/layer ($(WHEEL_ARCH)) size (Lambda allows 250 MB unzipped with the function): /'

synth: $(STAMP)
	@test -d build/layer/python || $(MAKE) layer
	CDK_OUTDIR=cdk.out $(PY) infra/app.py

bench: $(STAMP) local-tools
	$(MAKE) -C bench run
	$(MAKE) -C bench real
	$(PY) bench/pipeline_figures.py | tee bench/results/pipeline.txt
	$(PY) bench/cost_model.py | tee bench/results/cost.txt
	$(PY) bench/fanout.py | tee bench/results/fanout.txt
	$(PY) bench/local_stack.py 60 5 | tee bench/results/local-stack.txt

clean:
	rm -rf $(VENV) out .pytest_cache
