"""The local stack end to end: documents per minute and seconds per document, from upload to the job's end.

The CDK app is deployed into the emulator (as `make demo` does), then `ocrflow.local.soak` uploads DOCUMENTS
small one-page scans at once - half through the HTTPS API by a tenant with credits, half into the bucket, one
in ten an HTML page named .pdf - follows every job to its end and checks nothing was lost and the tenant was
charged exactly - twice: a first burst on cold functions (every concurrent invocation starts a new emulator
worker), a second one on the warm workers; then WARM more documents go one at a time.

    .venv/bin/python bench/local_stack.py [DOCUMENTS] [WARM]       (make bench runs it with 60 and 5)

The emulator runs every Lambda worker on this machine's 2 cores, and each new worker (one per concurrent
invocation) starts cold: the figures are this machine's, not AWS's, where each invocation has its own CPU.
"""

from __future__ import annotations

import sys
import time

from ocrflow.local.soak import run_soak
from ocrflow.local.stack import local_stack


def main(argv: list[str]) -> int:
    documents = int(argv[0]) if argv else 60
    warm = int(argv[1]) if len(argv) > 1 else 5
    began = time.monotonic()
    with local_stack() as stack:
        print(f"local stack deployed in {time.monotonic() - began:.0f} s (emulator, cdk bootstrap + deploy)")
        reports = {"cold": run_soak(stack, documents, timeout=1800, label="cold"),
                   "warm": run_soak(stack, documents, timeout=1800, warm=warm, label="warm")}
    lost = False
    for name, report in reports.items():
        print(f"\n{name} functions: " + "\n".join(report.lines()))
        lost |= bool(report.unfinished) or report.credits_charged != report.pages_succeeded_by_tenant or \
            report.holds.get("held", 0) > 0
    print("\nnothing lost, charged exactly" if not lost else "\nLOST OR MISCHARGED: see above")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
