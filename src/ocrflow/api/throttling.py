"""Per-key request throttling that holds across concurrent Lambdas: a fixed one-minute window per API key, one
atomic conditional counter update in DynamoDB per request; old windows expire by TTL.

API Gateway's stage throttling stays in front as the coarse, account-wide guard; this is the per-key limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ocrflow.api.errors import RateLimitedError

WINDOW_SECONDS = 60


class KeyThrottle:
    def __init__(self, table: Any, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.clock = clock
        self._conditional_failed = table.meta.client.exceptions.ConditionalCheckFailedException

    def admit(self, key_id: str, limit_per_minute: int) -> None:
        """Count one request of this key, or raise RateLimitedError when the window is full."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        try:
            self.table.update_item(
                Key={"pk": f"RATE#{key_id}#{window}", "sk": "RATE"},
                UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "requests"},
                ExpressionAttributeValues={":one": 1, ":limit": limit_per_minute,
                                           ":expires": (window + 2) * WINDOW_SECONDS},
            )
        except self._conditional_failed:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
            raise RateLimitedError(f"more than {limit_per_minute} requests a minute with this key; "
                                   f"try again in {retry_after} s", retry_after=retry_after) from None
