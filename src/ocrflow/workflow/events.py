"""The events the workflow's Lambda handlers receive, parsed with Powertools Parser models.

The one-call step (process) receives the EventBridge "Object Created" event S3 sends for the uploads bucket
(EventBridge invokes it directly, asynchronously). The state machine it hands waiting jobs to passes the job
state between its steps (its Map over a long document's page ranges gives each range call the state and
one range); its Catch gives the fail step the job's request and the error. The fail step is also
the process function's on-failure destination (Lambda's envelope around the original event).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3RecordModel
from pydantic import BaseModel, Field

from ocrflow.workflow.models import JobRequest, JobState, PageRangeItem
from ocrflow.workflow.settings import WorkflowSettings


def request_from_event(event: S3EventNotificationEventBridgeModel | S3RecordModel,
                       settings: WorkflowSettings) -> JobRequest:
    from ocrflow.workflow.steps import request_from_s3

    if isinstance(event, S3RecordModel):  # a classic S3 notification record (keys arrive URL-encoded)
        obj = event.s3.object
        return request_from_s3(event.s3.bucket.name, unquote_plus(obj.key), obj.versionId, obj.eTag, obj.size,
                               settings, sequencer=obj.sequencer)
    detail = event.detail
    return request_from_s3(detail.bucket.name, detail.object.key, detail.object.version_id, detail.object.etag,
                           detail.object.size, settings, sequencer=detail.object.sequencer)


class StateEvent(BaseModel):
    state: JobState


class RangeEvent(BaseModel):
    """One item of the state machine's Map over a fanned-out document's page ranges."""

    state: JobState
    range: PageRangeItem


class CatchFailure(BaseModel):
    """The state machine's Catch path: the job's request and the Catch payload."""

    request: JobRequest
    error: dict[str, Any] = Field(default_factory=dict, description="The Catch payload: Error and Cause")


class InvokeErrorPayload(BaseModel):
    errorType: str | None = None  # noqa: N815 - Lambda's field names
    errorMessage: str | None = None  # noqa: N815


class AsyncInvokeFailure(BaseModel):
    """Lambda's on-failure destination record: the process function's last try of an event failed."""

    requestPayload: S3EventNotificationEventBridgeModel  # noqa: N815 - Lambda's field names
    responsePayload: InvokeErrorPayload | None = None  # noqa: N815
    requestContext: dict[str, Any] = Field(default_factory=dict)  # noqa: N815 - condition, approximateInvokeCount


FailEvent = CatchFailure | AsyncInvokeFailure
