"""Job records in DynamoDB (the jobs table, keyed by job_id; index `by-tenant` on tenant + created_at lists a
tenant's jobs newest first).

Two ways a job starts. A file dropped in the uploads bucket: the first writer of its job id wins (conditional
put), so a duplicate S3 notification finds the job already claimed and does nothing. A job made by the API:
the record exists first (status awaiting_upload, with the caller's options); the upload's notification claims
it once (conditional update), a second notification or a late upload after deletion finds nothing to claim.
Deleting a job leaves a tombstone (`deleted#<job id>`, expiring well after the presigned PUT's lifetime), so the
process step recognises an object that arrives for a deleted job and removes it instead of ignoring it.

A claimed job carries its deadline (`deadline_epoch`, seconds) and a slot (`deadline_slot`): the keys of the
sparse index `by-deadline`, so only running jobs - and ended ones whose credits are not settled yet - are in it,
and the sweeper (`workflow.sweeper`) finds the overdue ones with one Query per slot instead of a Scan of the
table. A job ends once, by a conditional write from `running` (`end`), which also records how its credits are to
be settled (`settlement`); whoever ends it then settles the credits and takes the job out of the index
(`settled`). If that party dies in between, the job is still in the index and the sweeper settles it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocrflow.workflow.credits import stable_slot
from ocrflow.workflow.models import JobRequest, JobStatus, JobSummary

TENANT_INDEX = "by-tenant"
DEADLINE_INDEX = "by-deadline"
#: partitions of the by-deadline index: a job's slot is a stable hash of its id, so the index writes of jobs
#: starting and ending at once spread over several partitions instead of one hot key
DEADLINE_SLOTS = 8
#: how long a deleted job's tombstone outlives its presigned PUT: an object put in time may be announced late
#: (EventBridge retries an event for up to 24 h, Lambda's asynchronous queue keeps it up to 6 h)
TOMBSTONE_GRACE_SECONDS = 2 * 24 * 3600
_TOMBSTONE = "deleted#"


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

    def claim(self, request: JobRequest, execution: str, deadline: int) -> dict[str, Any] | None:
        """Take the job for this workflow execution and return its record; None when another execution owns
        it (a duplicate notification), it has ended, or, for an API upload, there is no job waiting for it. The
        same execution retrying its step may claim a job it is still running again (its first deadline stays).
        `deadline`: when the job must have ended (epoch seconds), the sweeper's key."""
        started = now_iso()
        slot = stable_slot(request.job_id, DEADLINE_SLOTS)
        try:
            if request.api_job:
                return plain(self.table.update_item(
                    Key={"job_id": request.job_id},
                    UpdateExpression="SET #status = :running, #execution = :execution, #source = :source, "
                                     "started_at = :now, updated_at = :now, "
                                     "deadline_slot = if_not_exists(deadline_slot, :slot), "
                                     "deadline_epoch = if_not_exists(deadline_epoch, :deadline) REMOVE expires_at",
                    ConditionExpression="attribute_exists(job_id) AND tenant = :tenant AND "
                                        "(#status = :waiting OR (#execution = :execution AND #status = :running))",
                    ExpressionAttributeNames={"#status": "status", "#execution": "execution", "#source": "source"},
                    ExpressionAttributeValues={
                        ":running": JobStatus.RUNNING.value, ":waiting": JobStatus.AWAITING_UPLOAD.value,
                        ":execution": execution, ":tenant": request.tenant, ":now": started,
                        ":slot": slot, ":deadline": deadline,
                        ":source": _dynamo(request.source.model_dump(exclude_none=True))},
                    ReturnValues="ALL_NEW")["Attributes"])
            item = {
                "execution": execution, "job_id": request.job_id, "tenant": request.tenant,
                "status": JobStatus.RUNNING.value, "provider": request.provider, "languages": request.languages,
                "outputs": request.outputs, "filename": request.source.key.rsplit("/", 1)[-1],
                "size": request.source.size, "source": request.source.model_dump(exclude_none=True),
                "created_at": started, "started_at": started, "updated_at": started,
                "deadline_slot": slot, "deadline_epoch": deadline,
            }
            self.table.put_item(Item=_dynamo(item), ConditionExpression="attribute_not_exists(job_id)")
            return plain(_dynamo(item))
        except self._conditional_failed:
            if request.api_job:
                return None
        existing = self.get(request.job_id)  # a retry of the claiming event resumes the job it still runs
        if existing and existing.get("execution") == execution and existing.get("status") == JobStatus.RUNNING:
            return existing
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

    def add_pages_done(self, job_id: str, pages: int, *, provider: str | None = None) -> bool:
        """Count `pages` more pages done on a running job (an atomic ADD of `pages_done`, so concurrent
        counters - a fan-out's page ranges - never lose each other's pages); with `provider`, also record the
        provider reading them. False when the job is no longer running (ended, e.g. by the sweeper, or
        deleted): nothing is written. Callers write progress sparingly - see `workflow.progress`."""
        if pages <= 0 and provider is None:
            return True
        names = {"#status": "status"}
        values: dict[str, Any] = {":pages": pages, ":running": JobStatus.RUNNING.value, ":now": now_iso()}
        update = "ADD pages_done :pages SET updated_at = :now"
        if provider is not None:
            update += ", #provider = :provider"
            names["#provider"], values[":provider"] = "provider", provider
        try:
            self.table.update_item(Key={"job_id": job_id}, UpdateExpression=update,
                                   ConditionExpression="#status = :running",
                                   ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        except self._conditional_failed:
            return False
        return True

    def end(self, summary: JobSummary, settlement: dict[str, Any], *, waiting: bool = False,
            execution: str | None = None, overdue_at: int | None = None) -> bool:
        """Record the job's outcome - only if it is still running (or, with `waiting`, still awaiting its
        upload), claimed by `execution` and past its deadline at `overdue_at` where those are given. False when
        the job had ended already (a concurrent end won: nothing is written). `settlement` says how the credits
        are to be settled (see `settled`)."""
        fields = {**summary.model_dump(exclude={"job_id"}, exclude_none=True, mode="json"),
                  "finished_at": now_iso(), "updated_at": now_iso(), "settlement": settlement}
        if summary.status is JobStatus.SUCCEEDED and summary.pages is not None:
            fields["pages_done"] = summary.pages  # the last pages' count rides on the end's own write
        names = {f"#{k}": k for k in fields} | {"#status": "status"}
        values = {f":{k}": _dynamo(v) for k, v in fields.items()} | {":running": JobStatus.RUNNING.value}
        condition = "#status = :running"
        if waiting:
            condition = "#status IN (:running, :waiting)"
            values[":waiting"] = JobStatus.AWAITING_UPLOAD.value
        if execution is not None:
            condition += " AND #execution = :execution"
            names["#execution"], values[":execution"] = "execution", execution
        if overdue_at is not None:
            condition += " AND deadline_epoch <= :overdue_at"
            values[":overdue_at"] = overdue_at
        try:
            self.table.update_item(Key={"job_id": summary.job_id}, ConditionExpression=condition,
                                   UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
                                   ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        except self._conditional_failed:
            return False
        return True

    def settled(self, job_id: str) -> None:
        """The ended job's credits are settled: out of the by-deadline index, nothing left for the sweeper."""
        try:
            self.table.update_item(Key={"job_id": job_id}, ConditionExpression="attribute_exists(job_id)",
                                   UpdateExpression="REMOVE deadline_slot, deadline_epoch, settlement")
        except self._conditional_failed:
            return  # deleted meanwhile

    def overdue(self, now: int) -> Iterator[dict[str, Any]]:
        """Jobs in the by-deadline index whose deadline is `now` or earlier (epoch seconds), earliest first per
        slot: running jobs that should have ended, and ended jobs whose credits were never settled. The index
        holds keys only; each job is read (consistently) as it is yielded."""
        for slot in range(DEADLINE_SLOTS):
            kwargs: dict[str, Any] = {
                "IndexName": DEADLINE_INDEX,
                "KeyConditionExpression": "deadline_slot = :slot AND deadline_epoch <= :now",
                "ExpressionAttributeValues": {":slot": slot, ":now": now}}
            while True:
                page = self.table.query(**kwargs)
                for key in page.get("Items", []):
                    record = self.get(key["job_id"])
                    if record is not None and "deadline_epoch" in record:  # not settled meanwhile
                        yield record
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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

    def delete(self, job_id: str, expected_status: str, upload_url_seconds: int) -> bool:
        """Remove the record if its status is still `expected_status` (a job that moved on is not deleted), and
        leave its tombstone in the same transaction: an upload through the job's presigned PUT (valid for
        `upload_url_seconds`) that arrives later is then recognised (`was_deleted`) and removed."""
        expires = int(time.time()) + upload_url_seconds + TOMBSTONE_GRACE_SECONDS
        client = self.table.meta.client
        try:
            client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self.table.name, "Key": {"job_id": job_id},
                            "ConditionExpression": "#status = :status",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":status": expected_status}}},
                {"Put": {"TableName": self.table.name,
                         "Item": {"job_id": _TOMBSTONE + job_id, "deleted_at": now_iso(), "expires_at": expires}}}])
        except client.exceptions.TransactionCanceledException:
            return False
        return True

    def was_deleted(self, job_id: str) -> bool:
        """Whether the job was deleted recently enough that its presigned PUT may still bring a file."""
        item = self.table.get_item(Key={"job_id": _TOMBSTONE + job_id}, ConsistentRead=True).get("Item")
        return item is not None and int(item.get("expires_at", 0)) > time.time()
