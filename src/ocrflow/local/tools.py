"""Where the pinned local-stack tools live (installed by `make local-tools`), overridable by environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ocrflow.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class LocalTools:
    #: the interpreter that runs the emulator - and, through it, the Lambda handlers (ministack runs Python
    #: functions with its own interpreter, so the layer below is built for this interpreter's ABI)
    emulator_python: Path
    #: the aws-cdk CLI (npm package aws-cdk, pinned in package.json)
    cdk: Path
    #: the Lambda layer built for `emulator_python`
    layer_dir: Path
    #: the interpreter that synthesizes the CDK app (the project's venv)
    app_python: Path
    work_dir: Path

    @classmethod
    def from_env(cls) -> LocalTools:
        def path(variable: str, default: Path) -> Path:
            return Path(os.environ.get(variable) or default)

        return cls(
            emulator_python=path("OCRFLOW_EMULATOR_PYTHON", REPO / "build" / "stack-venv" / "bin" / "python"),
            cdk=path("OCRFLOW_CDK", REPO / "node_modules" / ".bin" / "cdk"),
            layer_dir=path("OCRFLOW_LOCAL_LAYER", REPO / "build" / "layer-local"),
            app_python=path("OCRFLOW_APP_PYTHON", REPO / ".venv" / "bin" / "python"),
            work_dir=path("OCRFLOW_LOCAL_WORK", REPO / "build" / "local"),
        )

    def check(self) -> None:
        missing = [f"{name} ({p})" for name, p in (("emulator", self.emulator_python), ("cdk CLI", self.cdk),
                                                     ("local layer", self.layer_dir / "python"),
                                                     ("app python", self.app_python)) if not p.exists()]
        if missing:
            raise ConfigError("local stack tools missing: " + ", ".join(missing) + " - run `make local-tools`")
