"""The workflow: thin Lambda steps, an Express and a Standard state machine (JSONPath) for jobs that wait or fan out.

EventBridge invokes the process function (asynchronously) for every object created under the uploads prefix;
it finishes most documents in that one call (embedded engine, providers that answer at once). Lambda retries a
failed call twice, then sends the event to its on-failure destination, the fail function. A job waiting on an
asynchronous provider is handed to the state machine (named execution per submission): Wait, Poll, Resubmit
on the next provider, Finalize; its Catch also ends in the fail function. The notify function delivers
webhooks. Why one call and a waiting machine instead of a state machine for every document: the AWS cost model
in docs/PERFORMANCE.md (Standard transitions alone were $0.20 per 1,000 documents).

A waiting job starts in an Express loop (billed by duration, not per transition) and moves to the Standard
machine after two minutes: a provider's job may take longer than Express's five minutes. Fan-outs (the
Distributed Map) run in Standard.
"""

from __future__ import annotations

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Size, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ocrflow.engines.settings import SecondEngineMode
from ocrflow_infra.config import REPO, DeploymentConfig
from ocrflow_infra.constructs.storage import Storage
from ocrflow_infra.nag import acknowledge, arn_token
from ocrflow_infra.sizes import EPHEMERAL_MB, SECOND_ENGINE, STEPS

#: errors worth another try, named as the Lambda error types the handlers raise
TRANSIENT = ["ThrottledError", "ProviderUnavailableError", "LedgerBusyError", "Lambda.TooManyRequestsException",
             "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"]
#: a range call also tries again when it found too little time left to start (a fresh call has its whole
#: time-out) or ran out of it (the range is its partial result: nothing finished is done again)
RANGE_TRANSIENT = [*TRANSIENT, "NotEnoughTimeError", "States.Timeout", "Sandbox.Timedout"]


#: the steps that may run the embedded engine (the one-call path, a submission on the route, a fan-out's range)
ENGINE_STEPS = ("process", "submit", "range")

#: where a waiting job's finished parts are kept (WorkflowSettings.work_prefix; expired by the results lifecycle)
WORK_PREFIX = "work/"


class Workflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self, "CoreLayer", code=lambda_.Code.from_asset(str(config.layer_path)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12], compatible_architectures=[architecture(config)],
            description="ocrflow core, its dependencies, libtesseract (tesserocr wheel) and tessdata-fast models",
        )
        self.environment = environment = {
            "OCRFLOW_UPLOADS_BUCKET": storage.uploads.bucket_name, "OCRFLOW_UPLOADS_PREFIX": config.uploads_prefix,
            "OCRFLOW_RESULTS_BUCKET": storage.results.bucket_name, "OCRFLOW_JOBS_TABLE": storage.jobs.table_name,
            "OCRFLOW_TENANTS_TABLE": storage.tenants.table_name, "OCRFLOW_API_PROVIDERS": config.api_providers,
            "OCRFLOW_URL_ALLOW_HTTP": str(config.url_allow_http).lower(),
            "OCRFLOW_SOURCE_URL_ALLOWED_HOSTS": config.source_url_allowed_hosts,
            "OCRFLOW_CALLBACK_ALLOWED_HOSTS": config.callback_allowed_hosts,
            "OCRFLOW_PROVIDER": config.provider, "OCRFLOW_LANG": config.languages, "OCRFLOW_ROUTE": config.route,
            "OCRFLOW_OCR_MODE": config.ocr_mode.value, "OCRFLOW_SECOND_ENGINE": config.second_engine.value,
            "OCRFLOW_OUTPUTS": config.outputs,
            "OCRFLOW_QUOTAS": config.quotas, "OCRFLOW_EMBEDDED_FALLBACK": str(config.embedded_fallback).lower(),
            "OCRFLOW_RESULTS_PREFIX": config.results_prefix,
            "OCRFLOW_JOB_DEADLINE_SECONDS": str(config.job_deadline_seconds),
            "OCRFLOW_IDEMPOTENCY_TABLE": storage.idempotency.table_name,
            # the fan-out's numbers (ocrflow.workflow.page_ranges), checked at synth (DeploymentConfig)
            "OCRFLOW_MAX_PAGES": str(config.max_pages), "OCRFLOW_RANGE_CONCURRENCY": str(config.range_concurrency),
            "OCRFLOW_RANGE_SECONDS": str(config.range_seconds),
            "OCRFLOW_PROCESS_TIMEOUT_SECONDS": str(STEPS["process"][1]),
            "OCRFLOW_RANGE_TIMEOUT_SECONDS": str(STEPS["range"][1]),
            "OCRFLOW_MERGE_TIMEOUT_SECONDS": str(STEPS["finalize"][1]),
            "POWERTOOLS_SERVICE_NAME": "ocrflow", "POWERTOOLS_METRICS_NAMESPACE": "ocrflow",
        }
        for provider, secret_name in config.secrets.items():
            environment[f"OCRFLOW_{provider.upper()}_SECRET_NAME"] = secret_name
        if config.range_pages:
            environment["OCRFLOW_RANGE_PAGES"] = str(config.range_pages)
        if config.seconds_per_page:
            environment["OCRFLOW_EMBEDDED_SECONDS_PER_PAGE"] = str(config.seconds_per_page)
        self.functions = {step: self._function(step, memory, timeout, environment, config)
                          for step, (memory, timeout) in STEPS.items()}
        acknowledge(self, "L1", "python3.12 is pinned to match the layer's compiled wheels (tesserocr, pikepdf, "
                    "pypdfium2 for cp312); a newer runtime means rebuilding the layer for it.")
        self._grant(storage, config)
        self.second_engine = None
        if config.second_engine is not SecondEngineMode.OFF:
            self.second_engine = self._second_engine(config)
            for step in ENGINE_STEPS:
                self.functions[step].add_environment("OCRFLOW_SECOND_ENGINE_FUNCTION",
                                                     self.second_engine.function_name)
                self.second_engine.grant_invoke(self.functions[step])
            acknowledge(self, "IAM5", "The steps that run the embedded engine invoke the second engine's function "
                        "('<function arn>:*' covers its versions).", [f"Resource::{arn_token(self.second_engine)}:*"])
        self.dead_letters = sqs.Queue(self, "StartDeadLetters", enforce_ssl=True,
                                      encryption=sqs.QueueEncryption.SQS_MANAGED,
                                      retention_period=Duration.days(14))
        acknowledge(self.dead_letters, "SQS3", "This queue is the dead-letter queue of the EventBridge rule's "
                    "target (cdk-nag only recognises SQS redrive policies).")
        self.results = storage.results  # the items files of fanned-out documents are read from it
        self.state_machine = self._state_machine(config)
        self.quick_state_machine = self._quick_state_machine(config, self.state_machine)
        process, fail, notify = self.functions["process"], self.functions["fail"], self.functions["notify"]
        sweep = self.functions["sweep"]
        process.add_environment("OCRFLOW_WAIT_STATE_MACHINE", self.state_machine.state_machine_arn)
        process.add_environment("OCRFLOW_QUICK_WAIT_STATE_MACHINE", self.quick_state_machine.state_machine_arn)
        for function in (process, fail, sweep):  # webhooks of jobs ended outside the state machine
            function.add_environment("OCRFLOW_NOTIFY_FUNCTION", notify.function_name)
            notify.grant_invoke(function)
        self.state_machine.grant_start_execution(process)
        self.quick_state_machine.grant_start_execution(process)
        process.configure_async_invoke(retry_attempts=2, max_event_age=Duration.hours(6),
                                       on_failure=destinations.LambdaDestination(fail, response_only=False))
        acknowledge(self, "IAM5", "Invoking a function ('<function arn>:*' covers its versions): the process and fail "
                    "functions invoke the notify function, Lambda invokes the fail function as the process "
                    "function's on-failure destination; the sweep function invokes the notify function.",
                    [f"Resource::{arn_token(fn)}:*" for fn in (notify, fail)])
        events.Rule(
            self, "ObjectCreated",
            description="Process each object created under the uploads prefix (one call; waits in the state machine)",
            event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"], detail={
                "bucket": {"name": [storage.uploads.bucket_name]},
                "object": {"key": [{"prefix": config.uploads_prefix}]},
            }),
            targets=[targets.LambdaFunction(process, dead_letter_queue=self.dead_letters, retry_attempts=8,
                                            max_event_age=Duration.hours(24))],
        )
        events.Rule(  # nothing stays running past its deadline, whatever died (ocrflow.workflow.sweeper)
            self, "SweepSchedule", description="Fail the jobs still running past their deadline, every minute",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[targets.LambdaFunction(sweep, retry_attempts=0)],  # the next minute's run is the retry
        )

    def _function(self, step: str, memory: int, timeout: int, environment: dict[str, str],
                  config: DeploymentConfig) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"{step.title()}Logs", retention=retention(config.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        return lambda_.Function(
            self, f"{step.title()}Function", runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=architecture(config),
            handler="app.handler", code=lambda_.Code.from_asset(str(REPO / "functions" / step)), layers=[self.layer],
            memory_size=memory, timeout=Duration.seconds(timeout), environment=environment,
            ephemeral_storage_size=Size.mebibytes(EPHEMERAL_MB.get(step, 512)),
            tracing=lambda_.Tracing.ACTIVE, log_group=log_group, description=f"ocrflow workflow step: {step}",
        )

    def _second_engine(self, config: DeploymentConfig) -> lambda_.DockerImageFunction:
        """RapidOCR for weak pages, as a container image: with onnxruntime and OpenCV it is ~350 MB unzipped,
        over the 250 MB of a zip function (docs/ARCHITECTURE.md). The build context is the package alone."""
        memory, timeout = SECOND_ENGINE
        log_group = logs.LogGroup(self, "SecondEngineLogs", retention=retention(config.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        code = lambda_.DockerImageCode.from_image_asset(
            str(REPO), file="functions/second_engine/Dockerfile",
            platform=ecr_assets.Platform.LINUX_ARM64 if config.architecture == "arm64"
            else ecr_assets.Platform.LINUX_AMD64,
            ignore_mode=IgnoreMode.DOCKER,
            exclude=["*", "!pyproject.toml", "!README.md", "!src", "!functions/second_engine", "**/__pycache__",
                     "src/*.egg-info"])
        return lambda_.DockerImageFunction(
            self, "SecondEngineFunction", code=code, architecture=architecture(config),
            memory_size=memory, timeout=Duration.seconds(timeout), tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group, description="ocrflow second engine: RapidOCR reads a page Tesseract read weakly",
            environment={"OCRFLOW_SECOND_ENGINE_THREADS": "2", "POWERTOOLS_SERVICE_NAME": "ocrflow",
                         "POWERTOOLS_METRICS_NAMESPACE": "ocrflow"})

    def _grant(self, storage: Storage, config: DeploymentConfig) -> None:
        f = self.functions
        acknowledge(self, "IAM5", "S3 grants cover the results bucket's objects and the uploads prefix only; the jobs "
                    "table's grant includes its by-tenant index; "
                    "CDK's grant actions (Get*/List*/Delete*/Abort*) are the object-level read/write/delete sets; "
                    "X-Ray tracing has no resource-level permissions.", [
                        "Action::s3:List*", "Action::s3:GetObject*", "Action::s3:GetBucket*",
                        "Action::s3:DeleteObject*", "Action::s3:Abort*", "Resource::*",
                        f"Resource::{arn_token(storage.results)}/*",
                        f"Resource::{arn_token(storage.results)}/{WORK_PREFIX}*",
                        f"Resource::{arn_token(storage.uploads)}/{config.uploads_prefix}*",
                        f"Resource::{arn_token(storage.jobs)}/index/*"])
        for step in ("process", "submit", "finalize", "range"):  # range: the frames of a long image upload
            storage.uploads.grant_read(f[step], f"{config.uploads_prefix}*")
        for step in ("process", "submit", "poll", "finalize", "fail"):
            storage.results.grant_read_write(f[step])
        # a range reads its pages and writes its partial result (work files only; removed if the job ended)
        storage.results.grant_read_write(f["range"], f"{WORK_PREFIX}*")
        storage.results.grant_delete(f["range"], f"{WORK_PREFIX}*")
        for step in ("process", "finalize", "fail"):
            storage.results.grant_delete(f[step])
        storage.uploads.grant_delete(f["process"], f"{config.uploads_prefix}*")  # a deleted job's late upload
        storage.results.grant_read(f["sweep"], f"{WORK_PREFIX}*")  # the work files of a job it fails
        storage.results.grant_delete(f["sweep"], f"{WORK_PREFIX}*")
        for step in ("process", "submit", "poll", "finalize", "fail", "sweep", "range"):  # steps note their errors
            storage.jobs.grant_read_write_data(f[step])
        storage.jobs.grant_read_write_data(f["notify"])  # reads the job, records the delivery
        storage.tenants.grant_read_data(f["notify"])  # the tenant's webhook secret
        # credits (reserve, commit, release), tenants' routes, provider quota windows and reported balances
        for step in ("process", "submit", "poll", "finalize", "fail", "sweep", "range"):
            storage.tenants.grant_read_write_data(f[step])
        for step in ("process", "submit", "finalize"):  # Powertools Idempotency records
            storage.idempotency.grant_read_write_data(f[step])
        for provider, secret_name in sorted(config.secrets.items()):
            secret = secretsmanager.Secret.from_secret_name_v2(self, f"{provider.title()}Secret", secret_name)
            for step in ("process", "submit", "poll", "range"):  # range: a REST provider's part of a fan-out
                secret.grant_read(f[step])

    def _invoke(self, scope: Construct, step: str, payload: dict, result_path: str | None = None,
                retry: bool = True, name: str | None = None) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(scope, name or step.title(), lambda_function=self.functions[step],
                                  payload=sfn.TaskInput.from_object(payload), payload_response_only=True,
                                  result_path=result_path, retry_on_service_exceptions=False)
        if retry:
            task.add_retry(errors=TRANSIENT, interval=Duration.seconds(2), max_attempts=4, backoff_rate=2.0,
                           jitter_strategy=sfn.JitterType.FULL)
        return task

    def _notify(self, scope: Construct, name: str, then: sfn.State) -> sfn.State:
        """The webhook of the ended job; its own failure never changes the job's outcome."""
        task = tasks.LambdaInvoke(scope, name, lambda_function=self.functions["notify"],
                                  payload=sfn.TaskInput.from_object({"job_id.$": "$.summary.job_id"}),
                                  payload_response_only=True, result_path="$.notified",
                                  retry_on_service_exceptions=False)
        task.add_catch(then, errors=["States.ALL"], result_path="$.notify_error")
        return task.next(then)

    def _ranges(self, config: DeploymentConfig) -> sfn.DistributedMap:
        """A fanned-out document's page ranges: a Distributed Map over the items file the process call wrote
        (results bucket, work/{job}/ranges.json), each range one call of the range function in a Standard child
        execution (a range may be retried past Express's five minutes), as many at once as the job's state says
        (`rangeConcurrency` for the embedded engine, a REST provider's own limit for its parts). A range
        failing for good fails the Map, and the Catch fails the job with the range's noted error. The ranges'
        answers are small and dropped: their partial results are in S3, where finalize merges them."""
        call = tasks.LambdaInvoke(self, "OcrRange", lambda_function=self.functions["range"],
                                  payload=sfn.TaskInput.from_object({"state.$": "$.state", "range.$": "$.range"}),
                                  payload_response_only=True, retry_on_service_exceptions=False)
        call.add_retry(errors=RANGE_TRANSIENT, interval=Duration.seconds(2), max_attempts=4, backoff_rate=2.0,
                       jitter_strategy=sfn.JitterType.FULL)
        ranges = sfn.DistributedMap(
            # as many at once as the fan-out says: rangeConcurrency for the embedded engine, a REST provider's
            # own limit for its parts (set by the process call in the job's state)
            self, "OcrRanges", label="OcrRanges", max_concurrency_path="$.job.state.fan_out.concurrency",
            map_execution_type=sfn.StateMachineType.STANDARD,
            item_reader=sfn.S3JsonItemReader(bucket=self.results,
                                             key=sfn.JsonPath.string_at("$.job.state.fan_out.items_key")),
            item_selector={"state.$": "$.job.state", "range.$": "$$.Map.Item.Value"},
            result_path=sfn.JsonPath.DISCARD)
        ranges.item_processor(call)
        return ranges

    def _waiting_loop(self, scope: Construct) -> tuple[sfn.Choice, sfn.State, sfn.State]:
        """ProviderDone? -> Wait -> Poll (or Resubmit) -> ... -> Finalize -> Notify -> JobSucceeded; any step
        failing for good -> Fail -> Notify -> JobFailed. Built in `scope`, once per state machine. Returns the
        first state (each machine adds its own ways out of it), Finalize, and the Fail step for their Catch."""
        poll = self._invoke(scope, "poll", {"state.$": "$.job.state"}, result_path="$.job")
        # a provider that failed the job while polled hands it to the next one on the job's route
        resubmit = self._invoke(scope, "submit", {"state.$": "$.job.state"}, result_path="$.job", name="Resubmit")
        finalize = self._invoke(scope, "finalize", {"state.$": "$.job.state"}, result_path="$.summary")
        record_failure = self._invoke(scope, "fail", {"request.$": "$.job.state.request", "error.$": "$.error"},
                                      result_path="$.summary")
        failed = sfn.Fail(scope, "JobFailed", cause_path="$.summary.error.message",
                          error_path="$.summary.error.code")
        record_failure.next(self._notify(scope, "NotifyFailure", failed))
        wait = sfn.Wait(scope, "WaitForProvider", time=sfn.WaitTime.seconds_path("$.job.state.wait_seconds"))
        done = sfn.Choice(scope, "ProviderDone?").when(
            sfn.Condition.boolean_equals("$.job.state.done", True), finalize).when(
            sfn.Condition.boolean_equals("$.job.state.resubmit", True), resubmit).otherwise(wait)
        wait.next(poll)
        poll.next(done)
        resubmit.next(done)
        for task in (resubmit, poll, finalize):
            task.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
        finalize.next(self._notify(scope, "NotifySuccess", sfn.Succeed(scope, "JobSucceeded")))
        return done, finalize, record_failure

    def _machine(self, name: str, definition: sfn.IChainable, kind: sfn.StateMachineType, timeout: Duration,
                 config: DeploymentConfig) -> sfn.StateMachine:
        """A state machine (JSONPath) with X-Ray and its whole log (no execution data: documents' details)."""
        log_group = logs.LogGroup(self, f"{name}Logs", retention=retention(config.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        machine = sfn.StateMachine(
            self, name, definition_body=sfn.DefinitionBody.from_chainable(definition), state_machine_type=kind,
            query_language=sfn.QueryLanguage.JSON_PATH, timeout=timeout, tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(machine, "IAM5", "Step Functions may invoke any version of its own step functions "
                    "('<function arn>:*'); X-Ray and Logs delivery APIs have no resource-level permissions.",
                    [f"Resource::{arn_token(fn)}:*" for fn in self.functions.values()] + ["Resource::*"])
        return machine

    def _state_machine(self, config: DeploymentConfig) -> sfn.StateMachine:
        """The Standard machine. Started by the process function with {"job": {"state": ...}} for a job that fans
        out over page ranges, waits on its provider where no Express loop is deployed, or has waited there for
        long (or, after a retried hand-over, one that is done already)."""
        done, finalize, record_failure = self._waiting_loop(self)
        ranges = self._ranges(config)
        done.when(sfn.Condition.is_present("$.job.state.fan_out.items_key"), ranges)
        ranges.next(finalize)
        ranges.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
        machine = self._machine("StateMachine", done, sfn.StateMachineType.STANDARD,
                                Duration.seconds(config.job_deadline_seconds + 600), config)
        stack = Stack.of(self)
        bucket_id = stack.get_logical_id(self.results.node.default_child)
        execution = ('arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,'
                     f'{{"Fn::Split":[":",{{"Ref":"{stack.get_logical_id(machine.node.default_child)}"}}]}}]}}')
        acknowledge(machine, "IAM5", "The Distributed Map reads a fanned-out document's items file, whose key "
                    "names the job (work/{job}/ranges.json), so any object of the results bucket; and it "
                    "starts, describes and stops its own child executions, whose ARNs it names at run time.",
                    [f"Resource::arn:<AWS::Partition>:s3:::<{bucket_id}>/*", f"Resource::{execution}:*",
                     f"Resource::{execution}/OcrRanges:*"])
        return machine

    def _quick_state_machine(self, config: DeploymentConfig, standard: sfn.StateMachine) -> sfn.StateMachine:
        """The Express loop: the same waiting as the Standard machine, billed by duration (64 MB) instead of
        $0.025 per 1,000 state transitions - a job whose provider answers within minutes (Adobe, pdfocr.org)
        costs a fraction. An Express execution ends at five minutes, so poll moves a job that has waited
        `OCRFLOW_EXPRESS_WAIT_SECONDS` (120 s) on to the Standard machine (MoveToStandard: StartExecution named
        like the process call's, so a repeated start starts nothing new). Express runs at least once: a repeated
        execution is absorbed by the steps' idempotency (finalize once, one webhook)."""
        scope = Construct(self, "Quick")
        done, _, record_failure = self._waiting_loop(scope)
        move = tasks.StepFunctionsStartExecution(
            scope, "MoveToStandard", state_machine=standard, associate_with_parent=False,
            name=sfn.JsonPath.format("{}-{}", sfn.JsonPath.string_at("$.job.state.request.job_id"),
                                     sfn.JsonPath.string_at("$.job.state.attempt")),
            input=sfn.TaskInput.from_object({"job": {"state.$": "$.job.state"}}), result_path=sfn.JsonPath.DISCARD)
        moved = sfn.Succeed(scope, "WaitsInStandard")
        move.add_catch(moved, errors=["StepFunctions.ExecutionAlreadyExistsException"], result_path="$.moved")
        move.add_retry(errors=["StepFunctions.SdkClientException", "StepFunctions.StepFunctionsException"],
                       interval=Duration.seconds(1), max_attempts=3, backoff_rate=2.0)
        move.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
        move.next(moved)
        done.when(sfn.Condition.boolean_equals("$.job.state.to_standard", True), move)
        return self._machine("QuickStateMachine", done, sfn.StateMachineType.EXPRESS, Duration.minutes(5), config)


def architecture(config: DeploymentConfig) -> lambda_.Architecture:
    """`ocrflow:architecture`: x86_64 (the default) or arm64 (Graviton; the layer from `make layer ARCH=arm64`)."""
    return lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64


def retention(days: int) -> logs.RetentionDays:
    """The log retention closest to `days` (at least a week, at most a year)."""
    choices = {7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
               90: logs.RetentionDays.THREE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS,
               365: logs.RetentionDays.ONE_YEAR}
    return choices[min(choices, key=lambda known: abs(known - days))]
