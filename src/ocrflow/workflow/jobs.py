"""Job records in DynamoDB (the jobs table, keyed by job_id; index `by-tenant` on tenant + created_at lists a
tenant's jobs newest first).

Two ways a job starts. A file dropped in the uploads bucket: the first writer of its job id wins (conditional
put), so a duplicate S3 notification finds the job already claimed and does nothing. A job made by the API:
the record exists first (status awaiting_upload, with the caller's options); the upload's notification claims
it once (conditional update), a second notification or a late upload after deletion finds nothing to claim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocrflow.workflow.models import JobRequest, JobStatus, JobSummary

TENANT_INDEX = "by-tenant"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A DynamoDB item as plain JSON values (Decimal -> int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class JobRepository:
    def __init__(self, table: Any) -> None:
        self.table = table
        self._conditional_failed = table.meta.client.exceptions.ConditionalCheckFailedException

    def create(self, record: dict[str, Any]) -> bool:
        """Store a new job made by the API. False when the job id exists already."""
        try:
            self.table.put_item(Item=_dynamo(record), ConditionExpression="attribute_not_exists(job_id)")
        except self._conditional_failed:
            return False
        return True

    def claim(self, request: JobRequest, execution: str) -> dict[str, Any] | None:
        """Take the job for this workflow execution and return its record; None when another execution owns
        it (a duplicate notification) or, for an API upload, there is no job waiting for it. The same execution
        retrying its step may claim again."""
        started = now_iso()
        try:
            if request.api_job:
                return plain(self.table.update_item(
                    Key={"job_id": request.job_id},
                    UpdateExpression="SET #status = :running, #execution = :execution, #source = :source, "
                                     "started_at = :now, updated_at = :now REMOVE expires_at",
                    ConditionExpression="attribute_exists(job_id) AND tenant = :tenant AND "
                                        "(#status = :waiting OR #execution = :execution)",
                    ExpressionAttributeNames={"#status": "status", "#execution": "execution", "#source": "source"},
                    ExpressionAttributeValues={
                        ":running": JobStatus.RUNNING.value, ":waiting": JobStatus.AWAITING_UPLOAD.value,
                        ":execution": execution, ":tenant": request.tenant, ":now": started,
                        ":source": _dynamo(request.source.model_dump(exclude_none=True))},
                    ReturnValues="ALL_NEW")["Attributes"])
            item = {
                "execution": execution, "job_id": request.job_id, "tenant": request.tenant,
                "status": JobStatus.RUNNING.value, "provider": request.provider, "languages": request.languages,
                "outputs": request.outputs, "filename": request.source.key.rsplit("/", 1)[-1],
                "size": request.source.size, "source": request.source.model_dump(exclude_none=True),
                "created_at": started, "started_at": started, "updated_at": started,
            }
            self.table.put_item(Item=_dynamo(item),
                                ConditionExpression="attribute_not_exists(job_id) OR #execution = :execution",
                                ExpressionAttributeNames={"#execution": "execution"},
                                ExpressionAttributeValues={":execution": execution})
            return plain(_dynamo(item))
        except self._conditional_failed:
            return None

    def update(self, job_id: str, **fields: Any) -> None:
        fields["updated_at"] = now_iso()
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": _dynamo(v) for k, v in fields.items()}
        self.table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(job_id)",
        )

    def finish(self, summary: JobSummary) -> None:
        self.update(summary.job_id, finished_at=now_iso(),
                    **summary.model_dump(exclude={"job_id"}, exclude_none=True, mode="json"))

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return plain(item) if item is not None else None

    def list_for_tenant(self, tenant: str, limit: int, after: dict[str, str] | None = None
                        ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of a tenant's jobs, newest first, and the key to continue after (None at the end)."""
        kwargs: dict[str, Any] = {"IndexName": TENANT_INDEX, "KeyConditionExpression": "tenant = :tenant",
                                  "ExpressionAttributeValues": {":tenant": tenant}, "ScanIndexForward": False,
                                  "Limit": limit}
        if after:
            kwargs["ExclusiveStartKey"] = {"tenant": tenant, **after}
        page = self.table.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        following = {"job_id": last["job_id"], "created_at": last["created_at"]} if last else None
        return [plain(item) for item in page.get("Items", [])], following

    def delete(self, job_id: str, expected_status: str) -> bool:
        """Remove the record if its status is still `expected_status` (a job that moved on is not deleted)."""
        try:
            self.table.delete_item(Key={"job_id": job_id}, ConditionExpression="#status = :status",
                                   ExpressionAttributeNames={"#status": "status"},
                                   ExpressionAttributeValues={":status": expected_status})
        except self._conditional_failed:
            return False
        return True
