"""Job records in DynamoDB. The first writer of a job id wins (conditional put): a duplicate S3 notification
finds the job already claimed and does nothing - no second OCR, no second charge."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocrflow.workflow.models import JobRequest, JobStatus, JobSummary


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    return value


class JobRepository:
    def __init__(self, table: Any) -> None:
        self.table = table

    def claim(self, request: JobRequest, execution: str) -> bool:
        """Create the job record for this workflow execution. False when another execution already owns this
        job (this object version): the duplicate stops. The same execution retrying its step may re-claim."""
        item = {
            "execution": execution,
            "job_id": request.job_id, "tenant": request.tenant, "status": JobStatus.RUNNING.value,
            "provider": request.provider, "languages": request.languages,
            "source": request.source.model_dump(exclude_none=True), "created_at": _now(), "updated_at": _now(),
        }
        try:
            self.table.put_item(Item=_dynamo(item),
                                ConditionExpression="attribute_not_exists(job_id) OR #execution = :execution",
                                ExpressionAttributeNames={"#execution": "execution"},
                                ExpressionAttributeValues={":execution": execution})
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def update(self, job_id: str, **fields: Any) -> None:
        fields["updated_at"] = _now()
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": _dynamo(v) for k, v in fields.items()}
        self.table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(job_id)",
        )

    def finish(self, summary: JobSummary) -> None:
        self.update(summary.job_id, **summary.model_dump(exclude={"job_id"}, exclude_none=True, mode="json"))

    def get(self, job_id: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
