#!/usr/bin/env python3
"""`cdk synth` / `cdk deploy` entry point (cdk.json: "app": "python3 infra/app.py")."""

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aws_cdk import App, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from ocrflow_infra.config import DeploymentConfig  # noqa: E402
from ocrflow_infra.stacks.ocrflow_stack import OcrflowStack  # noqa: E402

# `cdk synth/deploy` pass cdk.json's context themselves; `python3 infra/app.py` (make synth) reads it here
context = {} if "CDK_CONTEXT_JSON" in os.environ else json.loads((REPO / "cdk.json").read_text())["context"]
app = App(context=context, outdir=os.environ.get("CDK_OUTDIR", str(REPO / "cdk.out")))
OcrflowStack(app, "Ocrflow", config=DeploymentConfig.from_context(app))
Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
app.synth()
