# ocrflow - every target sets up what it needs on a fresh machine.
#   make demo    OCR the sample documents on the embedded engine and show the results
#   make test    the whole offline test suite
#   make bench   speed / size / accuracy figures vs OCRmyPDF (not part of make test)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
APT    := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

.PHONY: demo test bench schema lint clean system-test-deps layer synth

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev,aws,infra]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# pdftotext (poppler-utils) is how the tests check what a PDF reader extracts from our searchable PDFs.
system-test-deps:
	@command -v pdftotext >/dev/null || { $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq poppler-utils >/dev/null; }

demo: $(STAMP)
	$(PY) -m ocrflow.cli demo --samples events/samples --output out/demo

test: $(STAMP) system-test-deps
	$(VENV)/bin/ruff check src tests tools bench functions infra
	$(PY) -m pytest -n 2 -q

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
	cd build/layer/python && rm -rf boto3 boto3-* botocore botocore-* s3transfer s3transfer-* pygments pygments-* \
		rich rich-* markdown_it markdown_it_py-* mdurl mdurl-* werkzeug werkzeug-* bin numpy/*/tests numpy/tests
	find build/layer -name __pycache__ -type d -prune -exec rm -rf {} +
	@du -sh build/layer | sed 's/^/layer size (Lambda allows 250 MB unzipped with the function): /'

synth: $(STAMP)
	@test -d build/layer/python || $(MAKE) layer
	CDK_OUTDIR=cdk.out $(PY) infra/app.py

bench:
	$(MAKE) -C bench run

clean:
	rm -rf $(VENV) out .pytest_cache
