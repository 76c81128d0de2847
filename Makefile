# ocrflow - every target sets up what it needs on a fresh machine.
#   make demo    deploy the CDK app into a local AWS emulator and OCR the samples through the S3 trigger
#                (PROVIDER=ocrspace|adobe|pdfocr|pdfmage|yandex: through that provider's fake)
#   make demo-cli the same samples through the command line only (no AWS parts)
#   make test    the whole offline test suite
#   make bench   speed / size / accuracy figures vs OCRmyPDF (not part of make test)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
APT    := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

.PHONY: demo demo-cli test bench schema lint clean system-test-deps layer synth local-tools
PROVIDER ?= tesseract

# The local stack (pinned): ministack, a pure-Python AWS emulator, in its own venv - it runs the Lambda
# handlers with its own interpreter, so it also plays the Lambda runtime (boto3 comes with it, as in Lambda);
# the aws-cdk CLI from npm (package.json); the core layer built for that interpreter.
MINISTACK     := ministack==1.5.33
STACK_VENV    := build/stack-venv
STACK_STAMP   := $(STACK_VENV)/.installed-1.5.33
LOCAL_LAYER   := build/layer-local
LAYER_TRIM    := boto3 boto3-* botocore botocore-* s3transfer s3transfer-* pygments pygments-* rich rich-* \
	markdown_it markdown_it_py-* mdurl mdurl-* werkzeug werkzeug-* bin numpy/*/tests numpy/tests

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev,aws,infra]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# pdftotext (poppler-utils) is how the tests check what a PDF reader extracts from our searchable PDFs.
system-test-deps:
	@command -v pdftotext >/dev/null || { $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq poppler-utils >/dev/null; }

demo: $(STAMP) local-tools
	$(PY) -m ocrflow.cli stack-demo --samples events/samples --output out/stack-demo --provider $(PROVIDER)

demo-cli: $(STAMP)
	$(PY) -m ocrflow.cli demo --samples events/samples --output out/demo --provider $(PROVIDER)

$(STACK_STAMP):
	$(PYTHON) -m venv $(STACK_VENV)
	$(STACK_VENV)/bin/python -m pip install --quiet '$(MINISTACK)' boto3
	touch $(STACK_STAMP)

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.bin/cdk

# the layer for the emulator: ocrflow as it is now (rebuilt on every run: a wheel of the working tree, ~20 s)
local-tools: $(STAMP) $(STACK_STAMP) node_modules/.bin/cdk
	rm -rf $(LOCAL_LAYER) build/wheels-local && mkdir -p $(LOCAL_LAYER)/python build/wheels-local
	$(PY) -m pip wheel --quiet --no-deps -w build/wheels-local .
	$(STACK_VENV)/bin/python -m pip install --quiet --target $(LOCAL_LAYER)/python --only-binary=:all: \
		build/wheels-local/ocrflow-*.whl 'aws-lambda-powertools[tracer]' 2>&1 | grep -v "dependency conflicts\|requires botocore\|resolver does not" || true
	cd $(LOCAL_LAYER)/python && rm -rf $(LAYER_TRIM)
	@test -f $(LOCAL_LAYER)/python/ocrflow/__init__.py

test: $(STAMP) system-test-deps local-tools
	$(VENV)/bin/ruff check src tests tools bench functions infra
	$(PY) -m pytest -n 2 --dist loadscope -q

schema: $(STAMP)
	$(PY) -m ocrflow.cli schema --write schemas/document.v1.schema.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench tools functions

# The Lambda layer: ocrflow and its dependencies as manylinux wheels for the python3.12 runtime (x86_64).
layer: $(STAMP)
	rm -rf build/layer build/wheels && mkdir -p build/layer/python build/wheels
	$(PY) -m pip wheel --quiet --no-deps -w build/wheels .
	$(PY) -m pip install --quiet --target build/layer/python --platform manylinux_2_28_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		--implementation cp --python-version 3.12 --only-binary=:all: build/wheels/ocrflow-*.whl 'aws-lambda-powertools[tracer]'
	# the runtime ships boto3/botocore; the CLI's console libraries and the fakes' web server are not needed in Lambda
	cd build/layer/python && rm -rf $(LAYER_TRIM)
	find build/layer -name __pycache__ -type d -prune -exec rm -rf {} +
	@du -sh build/layer | sed 's/^/layer size (Lambda allows 250 MB unzipped with the function): /'

synth: $(STAMP)
	@test -d build/layer/python || $(MAKE) layer
	CDK_OUTDIR=cdk.out $(PY) infra/app.py

bench:
	$(MAKE) -C bench run

clean:
	rm -rf $(VENV) out .pytest_cache
