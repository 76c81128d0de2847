"""Observability: alarms on failed executions, on upload events that ended in the dead-letter queue, on
events the process function dropped or could not hand to its on-failure destination and on the sweeper's
errors; a dashboard of the workflow."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ocrflow_infra.constructs.workflow import Workflow


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, workflow: Workflow, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        machine = workflow.state_machine
        failed = cloudwatch.Alarm(
            self, "ExecutionsFailed", metric=machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1, evaluation_periods=1, alarm_description="OCR workflow executions failed",
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        quick = workflow.quick_state_machine  # an Express loop that failed or timed out (five minutes)
        quick_ended = [cloudwatch.Alarm(
            self, name, metric=metric, threshold=1, evaluation_periods=1, alarm_description=description,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING) for name, metric, description in (
            ("QuickExecutionsFailed", quick.metric_failed(period=Duration.minutes(5), statistic="Sum"),
             "Express waiting loops failed"),
            ("QuickExecutionsTimedOut", quick.metric_timed_out(period=Duration.minutes(5), statistic="Sum"),
             "Express waiting loops ran out of their five minutes (the sweeper ends such jobs at their deadline)"))]
        dead = cloudwatch.Alarm(
            self, "StartDeadLetters",
            metric=workflow.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=1, evaluation_periods=1, alarm_description="Uploads whose workflow could not be started",
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        process = workflow.functions["process"]
        lost = [cloudwatch.Alarm(
            self, name, metric=process.metric(metric, period=Duration.minutes(5), statistic="Sum"),
            threshold=1, evaluation_periods=1, alarm_description=description,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING) for name, metric, description in (
            ("ProcessDestinationFailures", "DestinationDeliveryFailures",
             "Uploads whose last failed try could not reach the fail function (job left running)"),
            ("ProcessEventsDropped", "AsyncEventsDropped", "Upload events dropped by Lambda (too old or throttled)"))]
        swept = cloudwatch.Alarm(
            self, "SweepErrors", metric=workflow.functions["sweep"].metric_errors(period=Duration.minutes(5)),
            threshold=1, evaluation_periods=1,
            alarm_description="The sweeper failed: jobs past their deadline may stay running with credits held",
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        for alarm in (failed, *quick_ended, dead, *lost, swept):
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Executions", left=[machine.metric_started(), machine.metric_succeeded(),
                                                             machine.metric_failed()]),
            cloudwatch.GraphWidget(title="Step durations (ms)", left=[
                fn.metric_duration() for fn in workflow.functions.values()]),
            cloudwatch.GraphWidget(title="Step errors",
                                   left=[fn.metric_errors() for fn in workflow.functions.values()]),
        )
