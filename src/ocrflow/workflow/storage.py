"""S3 access for the workflow: the source document, part results in flight, and the three results."""

from __future__ import annotations

import json
from typing import Any

from ocrflow.errors import EmptyFileError, FileTooLargeError, OcrflowError
from ocrflow.workflow.models import S3Object


class SourceGoneError(OcrflowError):
    """The uploaded object was deleted (or replaced) before the job could read it."""

    code = "source_gone"


class ObjectStore:
    def __init__(self, s3_client: Any) -> None:
        self.s3 = s3_client

    def read_source(self, source: S3Object, max_bytes: int) -> bytes:
        extra = {"VersionId": source.version_id} if source.version_id else {}
        try:
            head = self.s3.head_object(Bucket=source.bucket, Key=source.key, **extra)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion", "403"):
                raise SourceGoneError(f"s3://{source.bucket}/{source.key} is no longer there") from None
            raise
        size = head["ContentLength"]
        if size == 0:
            raise EmptyFileError("the file is empty")
        if size > max_bytes:
            raise FileTooLargeError(f"the file is {size:,} bytes; the limit is {max_bytes:,} bytes", limit=max_bytes)
        return self.s3.get_object(Bucket=source.bucket, Key=source.key, **extra)["Body"].read()

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                           ServerSideEncryption="AES256")
        return f"s3://{bucket}/{key}"

    def put_file(self, bucket: str, key: str, path: str, content_type: str) -> str:
        """Upload a file in parts (boto3's managed transfer): a large result is never held in memory whole."""
        self.s3.upload_file(path, bucket, key, ExtraArgs={"ContentType": content_type,
                                                          "ServerSideEncryption": "AES256"})
        return f"s3://{bucket}/{key}"

    def put_json(self, bucket: str, key: str, value: Any) -> str:
        return self.put(bucket, key, json.dumps(value).encode(), "application/json")

    def get(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete_versions(self, bucket: str, key: str) -> None:
        """Delete every stored version of `key` (and its delete markers): in a versioned bucket a plain delete
        only hides the object."""
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]
            if doomed:
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URI, as `ObjectStore.put` returns them."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def result_keys(prefix: str, tenant: str, job_id: str) -> dict[str, str]:
    base = f"{prefix}{tenant}/{job_id}/"
    return {"json": base + "document.json", "txt": base + "text.txt", "pdf": base + "searchable.pdf",
            "hocr": base + "document.hocr", "alto": base + "document.alto.xml", "raw": base + "provider-raw.json"}


#: the content type each result is stored with (what a browser following its download link is told)
CONTENT_TYPES = {"json": "application/json", "txt": "text/plain; charset=utf-8", "pdf": "application/pdf",
                 "hocr": "application/xhtml+xml; charset=utf-8", "alto": "application/xml; charset=utf-8"}
