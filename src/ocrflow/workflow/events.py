"""The events the workflow's Lambda handlers receive, parsed with Powertools Parser models.

The state machine's input is the EventBridge "Object Created" event S3 sends for the uploads bucket (EventBridge
starts the execution directly: no Lambda relays it). Each step gets the original event and the execution
name, or the job state the previous step returned.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3RecordModel
from pydantic import BaseModel, Field

from ocrflow.workflow.models import JobRequest, JobState
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


class ValidateEvent(BaseModel):
    event: S3EventNotificationEventBridgeModel
    execution: str = Field(min_length=1, description="$$.Execution.Name: owner of the job claim")


class StateEvent(BaseModel):
    state: JobState


class FailEvent(BaseModel):
    event: S3EventNotificationEventBridgeModel
    error: dict[str, Any] = Field(default_factory=dict, description="The Catch payload: Error and Cause")
