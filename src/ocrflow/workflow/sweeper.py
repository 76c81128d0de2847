"""The sweeper: nothing stays `running` past its deadline, whatever died.

The deadline is otherwise only checked by the state machine's poll, so a job whose one-call process function
was killed (or failed with a passing error that no on-failure destination recorded: a destination that could
not be reached, the local emulator) stayed `running` with its credits held for ever. A scheduled function calls
`sweep` every minute or so. It reads the jobs whose deadline has passed from the sparse `by-deadline` index
(only running jobs, and ended ones whose credits are not settled yet, are in it: one Query per slot, no Scan)
and for each:

- still running: fails it with the error noted on it (`last_error`), else `timeout` - one conditional write
  (still running, the same claim, past its deadline), so a job that ends at the same moment either wins (the
  sweeper leaves it alone) or loses cleanly (its own end finds it failed and records, charges and notifies
  nothing); then releases its credits (once: the ledger settles a job's hold once) and asks for its webhook;
- ended, credits not settled (the step that ended it died right after): settles them as its end recorded.

A job handed to the Standard state machine is left to the machine's next step: finalize or fail find the job
ended and return its recorded outcome without charging or releasing again.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from ocrflow.errors import JobDeadlineError
from ocrflow.workflow.models import JobStatus, JobSummary
from ocrflow.workflow.steps import Deps, settle

logger = logging.getLogger(__name__)


class SweepReport(BaseModel):
    """What one sweep did."""

    timed_out: list[str] = Field(default_factory=list, description="Running jobs past their deadline, failed now")
    settled: list[str] = Field(default_factory=list, description="Ended jobs whose credits were settled now")
    ended_meanwhile: list[str] = Field(default_factory=list, description="Overdue jobs that ended by another path "
                                       "while being swept (that path's outcome stands)")


def sweep(deps: Deps) -> SweepReport:
    """Fail every running job past its deadline, settle every ended job its ender left unsettled."""
    now = int(deps.now().timestamp())
    report = SweepReport()
    for record in deps.jobs.overdue(now):
        job_id = record["job_id"]
        if record.get("status") != JobStatus.RUNNING:
            settle(record, deps)
            report.settled.append(job_id)
        elif fail_overdue(record, now, deps):
            report.timed_out.append(job_id)
        else:
            report.ended_meanwhile.append(job_id)
    if report.timed_out or report.settled:
        logger.warning("sweep: %d jobs failed past their deadline, %d ended jobs settled",
                       len(report.timed_out), len(report.settled))
    return report


def fail_overdue(record: dict[str, Any], now: int, deps: Deps) -> bool:
    """End one overdue running job as failed; False when it ended (or was claimed anew) meanwhile."""
    job_id = record["job_id"]
    error = record.get("last_error") or JobDeadlineError(
        f"the job did not end within its deadline of {deps.settings.job_deadline_seconds} s; send it again",
        deadline_seconds=deps.settings.job_deadline_seconds).to_record()
    summary = JobSummary(job_id=job_id, status=JobStatus.FAILED, tenant=record.get("tenant", "default"),
                         provider=record.get("provider", ""), error=error)
    settlement = {"action": "release"}
    if not deps.jobs.end(summary, settlement, execution=record.get("execution"), overdue_at=now):
        return False
    settle({"job_id": job_id, "tenant": summary.tenant, "settlement": settlement}, deps)
    logger.warning("job %s was still running past its deadline: failed as %s", job_id, error.get("code"))
    if record.get("callback_url"):
        deps.notify(job_id)
    return True
