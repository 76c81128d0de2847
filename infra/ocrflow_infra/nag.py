"""cdk-nag v3 acknowledgements: every rule we accept is acknowledged on the narrowest scope, with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str, evidence: list[str] | None = None) -> None:
    """Acknowledge AwsSolutions `rule` (e.g. "IAM5") on `scope` and below; with `evidence`, only those findings
    (e.g. "Action::s3:GetObject*", "Resource::<BucketLogicalId.Arn>/*") - never more than was reviewed."""
    ids = [f"AwsSolutions::AwsSolutions-{rule}[{item}]" for item in evidence] if evidence else \
        [f"AwsSolutions::AwsSolutions-{rule}"]
    Validations.of(scope).acknowledge(*[Acknowledgment(id=rule_id, reason=reason) for rule_id in ids])


def arn_token(resource: IConstruct) -> str:
    """How cdk-nag names a resource's ARN in its evidence: <LogicalId.Arn>."""
    stack = Stack.of(resource)
    return f"<{stack.get_logical_id(resource.node.default_child)}.Arn>"
