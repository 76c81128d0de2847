"""`python -m ocrflow.cli` runs the `ocrflow` command."""

import sys

from ocrflow.cli import main

sys.exit(main())
