"""The webhook of an ended job: its JobView (the same body GET /v1/jobs/{id} returns) POSTed to the job's
callback URL, signed with the tenant's webhook secret (HMAC-SHA256, see ocrflow.webhooks), retried with
back-off; the delivery report is kept on the job. A failed delivery never changes the job's outcome."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ocrflow import webhooks
from ocrflow.api.deps import ApiDeps
from ocrflow.api.jobs import job_view
from ocrflow.api.tenants import TenantNotFoundError


class NotifyEvent(BaseModel):
    job_id: str = Field(min_length=1, max_length=64)


def notify_job(job_id: str, deps: ApiDeps) -> webhooks.DeliveryReport | None:
    """Deliver the job's webhook; None when the job has no callback URL (or is gone)."""
    record = deps.jobs.get(job_id)
    if record is None or not record.get("callback_url") or record.get("webhook", {}).get("delivered"):
        return None
    try:
        secret = deps.tenants.get(record["tenant"]).webhook_secret
    except TenantNotFoundError:
        return None
    view = job_view(record)
    report = webhooks.deliver(record["callback_url"], {"event": f"job.{view.status}",
                                                       "job": view.model_dump(mode="json")},
                              secret, deps.settings.callback_policy, event=f"job.{view.status}", delivery_id=job_id,
                              deadline_seconds=deps.settings.webhook_deadline_seconds)
    earlier = (record.get("webhook") or {}).get("attempts") or 0  # a call before this one (Lambda retries it)
    report = report.model_copy(update={"attempts": report.attempts + int(earlier)})
    deps.jobs.update(job_id, webhook=report.model_dump(mode="json"))
    return report
