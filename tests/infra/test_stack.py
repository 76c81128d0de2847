"""The synthesized CloudFormation template: the resources and permissions a deployment gets, cdk-nag's AWS
Solutions checks (v3 validation plugin: zero unacknowledged findings) and cfn-lint (zero errors)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "infra"))

from aws_cdk import App, Validations  # noqa: E402
from aws_cdk.assertions import Match, Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from ocrflow_infra.config import DeploymentConfig  # noqa: E402
from ocrflow_infra.stacks.ocrflow_stack import OcrflowStack  # noqa: E402

#: cfn-lint warnings we accept, each with its reason; any other warning fails the test
ACCEPTED_WARNINGS = {
    "W3005": "CDK adds an explicit DependsOn on roles that a GetAtt already orders; harmless redundancy",
}


ROUTE = "pdfmage:0.01,ocrspace:0.002"
QUOTAS = '{"ocrspace": [{"per": "day", "requests": 500}, {"per": "month", "requests": 25000}]}'


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    layer = tmp_path_factory.mktemp("layer")
    (layer / "python").mkdir()
    (layer / "python" / "README").write_text("the real layer is built by `make layer`; synth only hashes it")
    out = tmp_path_factory.mktemp("cdk.out")
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = App(context=context, outdir=str(out))
    config = DeploymentConfig(layer_dir=layer, alarm_email="ops@example.com", route=ROUTE, quotas=QUOTAS,
                              provider_secrets={"pdfmage": "ocrflow/pdfmage", "ocrspace": "ocrflow/ocrspace"})
    stack = OcrflowStack(app, "Ocrflow", config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises if cdk-nag reports any unacknowledged finding
    return Template.from_stack(stack), out


def test_cdk_nag_reports_nothing_unacknowledged(synthesized):
    _, out = synthesized
    report = json.loads((out / "validation-report.json").read_text())
    assert report["title"] and "success" in json.dumps(report).lower()


def test_cfn_lint_finds_no_errors_and_only_accepted_warnings(synthesized):
    _, out = synthesized
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, "--format", "json", str(out / "Ocrflow.template.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 4), result.stderr  # cfn-lint: 2 = errors, 4 = warnings, 6 = both
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    unexpected = [f["Rule"]["Id"] for f in findings
                  if f["Level"] != "Error" and f["Rule"]["Id"] not in ACCEPTED_WARNINGS]
    assert not errors and not unexpected, (errors, unexpected)


def test_buckets_are_encrypted_private_and_tls_only(synthesized):
    template, _ = synthesized
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    policies = template.find_resources("AWS::S3::BucketPolicy")
    denies_plain_http = [p for p in policies.values() if any(
        s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in p["Properties"]["PolicyDocument"]["Statement"])]
    assert len(denies_plain_http) == 3


def test_only_the_uploads_bucket_announces_new_objects(synthesized):
    template, _ = synthesized
    template.has_resource_properties("AWS::S3::Bucket", {
        "VersioningConfiguration": {"Status": "Enabled"}})
    notifications = template.find_resources("Custom::S3BucketNotifications")
    assert len(notifications) == 1
    (notification,) = notifications.values()
    assert notification["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    assert "Uploads" in json.dumps(notification["Properties"]["BucketName"])


def workflow_functions(template) -> dict:
    """Logical id -> properties of the workflow's steps (process, submit, poll, finalize, fail, notify, ...): its
    zip functions; the second engine's image function is not a step."""
    return {k: v["Properties"] for k, v in template.find_resources("AWS::Lambda::Function").items()
            if "Workflow" in k and v["Properties"].get("PackageType") != "Image"}


def function_id(template, step: str) -> str:
    (found,) = [k for k in workflow_functions(template) if k.startswith(f"Workflow{step.title()}Function")]
    return found


def machine_id(template, kind: str) -> str:
    """The logical id of the STANDARD or the EXPRESS state machine."""
    (found,) = [k for k, v in template.find_resources("AWS::StepFunctions::StateMachine").items()
                if v["Properties"]["StateMachineType"] == kind]
    return found


def _definition(template, kind: str = "STANDARD") -> dict:
    machine = template.find_resources("AWS::StepFunctions::StateMachine")[machine_id(template, kind)]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "0" for p in parts))


def test_object_created_under_uploads_invokes_the_process_function(synthesized):
    template, _ = synthesized
    process = function_id(template, "process")
    template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"],
                         "detail": {"bucket": Match.any_value(), "object": {"key": [{"prefix": "uploads/"}]}}},
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [process, "Arn"]}, "DeadLetterConfig": Match.any_value(),
                                       "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 8})})]})
    # a failed call is tried twice more by Lambda, then handed to the fail function with the original event
    (config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": process} and props["MaximumRetryAttempts"] == 2
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [function_id(template, "fail"), "Arn"]}
    env = workflow_functions(template)[process]["Environment"]["Variables"]
    assert env["OCRFLOW_OCR_MODE"] == "auto"  # ocrflow:ocrMode, for uploads that name no mode
    assert env["OCRFLOW_WAIT_STATE_MACHINE"] == {"Ref": machine_id(template, "STANDARD")}
    assert env["OCRFLOW_QUICK_WAIT_STATE_MACHINE"] == {"Ref": machine_id(template, "EXPRESS")}
    assert env["OCRFLOW_NOTIFY_FUNCTION"] == {"Ref": function_id(template, "notify")}
    policies = [p["Properties"]["PolicyDocument"]["Statement"] for p in template.find_resources("AWS::IAM::Policy")
                .values() if "WorkflowProcessFunctionServiceRole" in json.dumps(p["Properties"]["Roles"])]
    actions = json.dumps(policies)
    assert "states:StartExecution" in actions and "lambda:InvokeFunction" in actions


def test_the_state_machine_waits_on_providers_with_the_documented_states_and_catch_path(synthesized):
    template, _ = synthesized
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineType": "STANDARD", "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL"})})
    definition = _definition(template)
    states = definition["States"]
    assert definition["StartAt"] == "ProviderDone?"  # the process function hands over {"job": {"state": ...}}
    assert {"ProviderDone?", "WaitForProvider", "Poll", "Resubmit", "OcrRanges", "Finalize", "Fail", "JobFailed",
            "JobSucceeded"} == set(states) - {"NotifySuccess", "NotifyFailure"}
    assert states["WaitForProvider"]["SecondsPath"] == "$.job.state.wait_seconds"
    assert states["Finalize"]["Next"] == "NotifySuccess" and states["NotifySuccess"]["Next"] == "JobSucceeded"
    assert states["Fail"]["Next"] == "NotifyFailure" and states["NotifyFailure"]["Next"] == "JobFailed"
    assert states["Fail"]["Parameters"] == {"request.$": "$.job.state.request", "error.$": "$.error"}
    for notify, end in (("NotifySuccess", "JobSucceeded"), ("NotifyFailure", "JobFailed")):
        assert states[notify]["Catch"][0]["Next"] == end  # a failed webhook never changes the job's outcome
    # a provider failing a job while polled hands it to the next provider on the route
    choices = states["ProviderDone?"]["Choices"]
    assert {c["Variable"]: c["Next"] for c in choices} == {"$.job.state.done": "Finalize",
                                                          "$.job.state.fan_out.items_key": "OcrRanges",
                                                          "$.job.state.resubmit": "Resubmit"}
    assert states["Resubmit"]["Next"] == "ProviderDone?"
    assert states["Resubmit"]["Parameters"] == {"state.$": "$.job.state"}  # the carried state, not the first
    for name in ("Resubmit", "Poll", "Finalize", "OcrRanges"):
        assert states[name]["Catch"][0]["Next"] == "Fail"
    for name in ("Resubmit", "Poll", "Finalize"):
        retry = states[name]["Retry"][0]
        assert "ThrottledError" in retry["ErrorEquals"] and retry["MaxAttempts"] == 4
        assert "NotADocumentError" not in json.dumps(retry)  # bad input fails fast




def test_jobs_wait_first_in_an_express_loop_that_moves_long_waits_to_the_standard_machine(synthesized):
    template, _ = synthesized
    machine = template.find_resources("AWS::StepFunctions::StateMachine")[machine_id(template, "EXPRESS")]
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"  # Express keeps no history: logs do
    states = _definition(template, "EXPRESS")["States"]
    assert _definition(template, "EXPRESS")["TimeoutSeconds"] == 300
    assert {"ProviderDone?", "WaitForProvider", "Poll", "Resubmit", "Finalize", "Fail", "JobFailed", "JobSucceeded",
            "MoveToStandard", "WaitsInStandard"} == set(states) - {"NotifySuccess", "NotifyFailure"}
    choices = {c["Variable"]: c["Next"] for c in states["ProviderDone?"]["Choices"]}
    assert choices == {"$.job.state.done": "Finalize", "$.job.state.resubmit": "Resubmit",
                       "$.job.state.to_standard": "MoveToStandard"}  # no fan-out here: Standard has the Map
    move = states["MoveToStandard"]
    assert move["Resource"].endswith(":states:startExecution") and move["Next"] == "WaitsInStandard"
    assert move["Parameters"]["StateMachineArn"] == "0"  # the Standard machine (a Ref)
    assert move["Parameters"]["Input"] == {"job": {"state.$": "$.job.state"}}
    assert move["Parameters"]["Name.$"] == "States.Format('{}-{}', $.job.state.request.job_id, $.job.state.attempt)"
    assert move["Catch"][0] == {"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"],
                                "ResultPath": "$.moved", "Next": "WaitsInStandard"}
    for name in ("Resubmit", "Poll", "Finalize", "MoveToStandard"):
        assert states[name]["Catch"][-1]["Next"] == "Fail"


def test_a_long_document_fans_out_in_a_distributed_map_reading_its_ranges_from_s3(synthesized):
    template, _ = synthesized
    ranges = _definition(template)["States"]["OcrRanges"]
    assert ranges["Type"] == "Map" and ranges["Next"] == "Finalize" and ranges["ResultPath"] is None
    assert ranges["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert ranges["MaxConcurrencyPath"] == "$.job.state.fan_out.concurrency" and "MaxConcurrency" not in ranges
    reader = ranges["ItemReader"]
    assert reader["Resource"].endswith(":s3:getObject") and reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "$.job.state.fan_out.items_key"
    assert ranges["ItemSelector"] == {"state.$": "$.job.state", "range.$": "$$.Map.Item.Value"}
    (call,) = ranges["ItemProcessor"]["States"].values()
    assert call["Parameters"] == {"state.$": "$.state", "range.$": "$.range"}
    retried = call["Retry"][0]["ErrorEquals"]
    assert {"NotEnoughTimeError", "States.Timeout", "ThrottledError"} <= set(retried)
    assert "OcrEngineError" not in retried  # an engine error fails the range, the Map and the job, typed


def test_the_range_function_reads_and_writes_work_files_and_has_the_fan_out_numbers(synthesized):
    template, _ = synthesized
    functions = template.find_resources("AWS::Lambda::Function")
    (range_fn,) = [f for f in functions.values() if f["Properties"].get("Description", "").endswith(": range")]
    assert range_fn["Properties"]["Timeout"] == 300 and range_fn["Properties"]["MemorySize"] == 2048
    (finalize,) = [f for f in functions.values() if f["Properties"].get("Description", "").endswith(": finalize")]
    assert finalize["Properties"]["EphemeralStorage"] == {"Size": 4096}  # the merge's scratch files
    env = range_fn["Properties"]["Environment"]["Variables"]
    assert env["OCRFLOW_RANGE_TIMEOUT_SECONDS"] == "300" and env["OCRFLOW_MAX_PAGES"] == "2000"
    assert env["OCRFLOW_RANGE_SECONDS"] == "30" and env["OCRFLOW_RANGE_CONCURRENCY"] == "200"
    policies = json.dumps([p for p in template.find_resources("AWS::IAM::Policy").values()
                           if "RangeFunction" in json.dumps(p["Properties"]["Roles"])])
    assert '"/work/*"' in policies  # its pages and partial results; a REST part's provider secret
    assert "secretsmanager:GetSecretValue" in policies


def test_a_configuration_that_could_accept_documents_it_cannot_finish_is_refused_at_synth(tmp_path):
    with pytest.raises(ValueError, match="could accept documents it cannot finish"):
        DeploymentConfig(layer_dir=tmp_path, range_concurrency=1)  # 112 ranges one after another
    with pytest.raises(ValueError, match="no range of pages fits one call"):
        DeploymentConfig(layer_dir=tmp_path, seconds_per_page=200)
    assert DeploymentConfig(layer_dir=tmp_path, range_concurrency=1, max_pages=100).max_pages == 100
    with pytest.raises(ValueError, match="ocr_mode"):
        DeploymentConfig(layer_dir=tmp_path, ocr_mode="sometimes")


def test_the_process_function_retries_what_the_state_machine_retries():
    from ocrflow_infra.constructs.workflow import TRANSIENT

    from ocrflow.workflow.process import RETRIED_ERRORS

    assert {cls.__name__ for cls in RETRIED_ERRORS} == {name for name in TRANSIENT if not name.startswith("Lambda.")}


def test_functions_are_thin_python_handlers_with_the_core_layer(synthesized):
    template, _ = synthesized
    functions = {k: v for k, v in template.find_resources("AWS::Lambda::Function").items()
                 if "Workflow" in k and v["Properties"].get("PackageType") != "Image"}  # the second engine's
    assert len(functions) == 8
    functions |= {k: v for k, v in template.find_resources("AWS::Lambda::Function").items() if k.startswith("Api")}
    assert len(functions) == 9
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12" and props["Handler"] == "app.handler"
        assert props["TracingConfig"] == {"Mode": "Active"} and len(props["Layers"]) == 1
    # 9 functions, the second engine's, the two state machines, API access logs
    template.resource_count_is("AWS::Logs::LogGroup", 13)
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30


def test_tables_have_point_in_time_recovery(synthesized):
    template, _ = synthesized
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert len(tables) == 3  # jobs, tenants, idempotency
    for table in tables.values():
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_alarms_watch_failed_executions_dead_letters_and_lost_invocations(synthesized):
    template, _ = synthesized
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert {a["Properties"]["MetricName"] for a in alarms.values()} == {
        "ExecutionsFailed", "ExecutionsTimedOut", "ApproximateNumberOfMessagesVisible", "DestinationDeliveryFailures",
        "AsyncEventsDropped", "Errors"}
    express = {"Name": "StateMachineArn", "Value": {"Ref": machine_id(template, "EXPRESS")}}
    assert {a["Properties"]["MetricName"] for a in alarms.values() if a["Properties"]["Dimensions"] == [express]} \
        == {"ExecutionsFailed", "ExecutionsTimedOut"}  # the Express loop's failures and time-outs
    (sweep_errors,) = [a["Properties"] for a in alarms.values() if a["Properties"]["MetricName"] == "Errors"]
    assert sweep_errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id(template, "sweep")}}]
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_api_proxies_every_route_to_one_function_with_stage_throttling_and_access_logs(synthesized):
    template, _ = synthesized
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "prod" and props["AccessLogSetting"]["DestinationArn"]
    (settings,) = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 50 and settings["ThrottlingBurstLimit"] == 100
    assert settings["DataTraceEnabled"] is False  # request bodies (and keys) stay out of the logs
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"ANY"}
    assert {m["Properties"]["Integration"]["Type"] for m in methods.values()} == {"AWS_PROXY"}
    (api_function,) = [v for k, v in template.find_resources("AWS::Lambda::Function").items()
                       if k.startswith("ApiFunction")]
    env = api_function["Properties"]["Environment"]["Variables"]
    assert env["OCRFLOW_URL_ALLOW_HTTP"] == "false"  # SSRF guard on
    assert env["OCRFLOW_SOURCE_URL_ALLOWED_HOSTS"] == env["OCRFLOW_CALLBACK_ALLOWED_HOSTS"] == ""


def test_jobs_table_lists_by_tenant_and_expires_abandoned_uploads(synthesized):
    template, _ = synthesized
    (jobs,) = [v for k, v in template.find_resources("AWS::DynamoDB::Table").items() if "Jobs" in k]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
               for i in jobs["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes == {"by-tenant": ["tenant", "created_at"], "by-deadline": ["deadline_slot", "deadline_epoch"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in jobs["Properties"]["AttributeDefinitions"]}
    assert types["deadline_slot"] == types["deadline_epoch"] == "N"  # the sweeper queries deadline <= now
    (deadline,) = [i for i in jobs["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == "by-deadline"]
    assert deadline["Projection"] == {"ProjectionType": "KEYS_ONLY"}  # a running job's updates don't write it
    assert jobs["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_browsers_may_put_uploads_and_get_results_cross_origin(synthesized):
    template, _ = synthesized
    buckets = template.find_resources("AWS::S3::Bucket")
    rules = {k: v["Properties"].get("CorsConfiguration", {}).get("CorsRules") for k, v in buckets.items()}
    assert [r[0]["AllowedMethods"] for k, r in rules.items() if "Uploads" in k] == [["PUT"]]
    assert [r[0]["AllowedMethods"] for k, r in rules.items() if "Results" in k] == [["GET"]]


def test_steps_get_the_route_quotas_and_each_providers_secret(synthesized):
    template, _ = synthesized
    functions = workflow_functions(template)
    for props in functions.values():
        env = props["Environment"]["Variables"]
        assert env["OCRFLOW_PROVIDER"] == "auto" and env["OCRFLOW_ROUTE"] == ROUTE and env["OCRFLOW_QUOTAS"] == QUOTAS
        assert env["OCRFLOW_EMBEDDED_FALLBACK"] == "true"
        assert env["OCRFLOW_PDFMAGE_SECRET_NAME"] == "ocrflow/pdfmage"
        assert env["OCRFLOW_OCRSPACE_SECRET_NAME"] == "ocrflow/ocrspace"
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert "secret:ocrflow/pdfmage-??????" in policies and "secret:ocrflow/ocrspace-??????" in policies


def policy_of(template, step: str) -> str:
    """The statements of a workflow function's role, as JSON text."""
    return json.dumps([p["Properties"]["PolicyDocument"]["Statement"]
                       for p in template.find_resources("AWS::IAM::Policy").values()
                       if f"Workflow{step.title()}FunctionServiceRole" in json.dumps(p["Properties"]["Roles"])])


def test_a_schedule_runs_the_sweep_function_every_minute_with_only_what_it_needs(synthesized):
    template, _ = synthesized
    sweep = function_id(template, "sweep")
    template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(1 minute)", "State": "ENABLED",
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [sweep, "Arn"]}})]})
    env = workflow_functions(template)[sweep]["Environment"]["Variables"]
    assert env["OCRFLOW_NOTIFY_FUNCTION"] == {"Ref": function_id(template, "notify")}
    assert env["OCRFLOW_JOB_DEADLINE_SECONDS"]
    actions = policy_of(template, "sweep")
    assert "dynamodb:UpdateItem" in actions and "dynamodb:Query" in actions  # the jobs and the credit ledger
    assert "lambda:InvokeFunction" in actions  # the webhook of a job it fails
    for never in ("states:", "secretsmanager:", "s3:PutObject"):  # no providers, no state machine, no writes
        assert never not in actions, never
    statements = json.loads(actions)
    s3_resources = json.dumps([s["Resource"] for group in statements for s in group
                               if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                    else s["Action"]))])
    assert "/work/*" in s3_resources and "Uploads" not in s3_resources  # its work files only


def test_the_process_function_may_remove_a_deleted_jobs_late_upload(synthesized):
    template, _ = synthesized
    statements = [s for group in json.loads(policy_of(template, "process")) for s in group]
    deletes = [s for s in statements if "s3:DeleteObject*" in json.dumps(s["Action"])]
    assert any("Uploads" in json.dumps(s["Resource"]) and "/uploads/*" in json.dumps(s["Resource"]) for s in deletes)


def _policy_of(template, role_fragment: str) -> str:
    return json.dumps([p["Properties"]["PolicyDocument"]["Statement"]
                       for p in template.find_resources("AWS::IAM::Policy").values()
                       if role_fragment in json.dumps(p["Properties"]["Roles"])])


def test_the_second_engine_is_a_container_image_function_the_engine_steps_may_invoke(synthesized):
    """RapidOCR does not fit a zip function (250 MB): its own function, a container image built from the
    package alone, which the steps that run the embedded engine are told of and may invoke - and no other."""
    template, out = synthesized
    images = {k: v["Properties"] for k, v in template.find_resources("AWS::Lambda::Function").items()
              if v["Properties"].get("PackageType") == "Image"}
    (second_id,) = images
    second = images[second_id]
    assert second["MemorySize"] == 3008 and second["Timeout"] == 60 and second["Architectures"] == ["x86_64"]
    assert "Layers" not in second and second["TracingConfig"] == {"Mode": "Active"}
    manifest = json.loads((out / "Ocrflow.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["dockerFile"] == "functions/second_engine/Dockerfile"
    context = out / image["source"]["directory"]
    staged = sorted(p.name for p in context.iterdir())
    assert staged == ["README.md", "functions", "pyproject.toml", "src"]  # not the venv, tests or build/
    assert sorted(p.name for p in (context / "functions").iterdir()) == ["second_engine"]
    for step in ("process", "submit", "range"):
        env = workflow_functions(template)[function_id(template, step)]["Environment"]["Variables"]
        assert env["OCRFLOW_SECOND_ENGINE"] == "auto"
        assert env["OCRFLOW_SECOND_ENGINE_FUNCTION"] == {"Ref": second_id}
        assert second_id in _policy_of(template, f"Workflow{step.title()}FunctionServiceRole")
    for step in ("poll", "finalize", "fail", "notify", "sweep"):
        assert second_id not in _policy_of(template, f"Workflow{step.title()}FunctionServiceRole")


def test_second_engine_off_deploys_no_image(tmp_path):
    """`-c ocrflow:secondEngine=off` (the local stack: no Docker engine to build the image): no image
    function, and the steps read with Tesseract alone."""
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = App(context={**context, "ocrflow:secondEngine": "off", "ocrflow:layerDir": str(layer)},
              outdir=str(tmp_path / "out"))
    stack = OcrflowStack(app, "Ocrflow", config=DeploymentConfig.from_context(app))
    template = Template.from_stack(stack)
    functions = template.find_resources("AWS::Lambda::Function").values()
    assert not [f for f in functions if f["Properties"].get("PackageType") == "Image"]
    process = workflow_functions(template)[function_id(template, "process")]["Environment"]["Variables"]
    assert process["OCRFLOW_SECOND_ENGINE"] == "off" and "OCRFLOW_SECOND_ENGINE_FUNCTION" not in process


def test_the_outputs_of_s3_uploads_are_configured_and_checked_at_synth(synthesized):
    template, _ = synthesized
    env = workflow_functions(template)[function_id(template, "process")]["Environment"]["Variables"]
    assert env["OCRFLOW_OUTPUTS"] == "json,txt,pdf"
    assert DeploymentConfig(outputs="alto, hocr").outputs == "alto,hocr"
    with pytest.raises(ValueError, match="unknown output docx"):
        DeploymentConfig(outputs="json,docx")


def test_arm64_deploys_every_function_and_the_layer_on_graviton(tmp_path):
    """`-c ocrflow:architecture=arm64`: every function (the second engine's image too) and the layer on arm64,
    the layer taken from where `make layer ARCH=arm64` builds it; x86_64 stays the default."""
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    assert DeploymentConfig.from_context(App(context=context)).layer_path == REPO / "build" / "layer"
    app = App(context={**context, "ocrflow:architecture": "arm64"}, outdir=str(tmp_path / "out"))
    config = DeploymentConfig.from_context(app)
    assert config.layer_path == REPO / "build" / "layer-arm64"
    layer = tmp_path / "layer-arm64"
    (layer / "python").mkdir(parents=True)
    stack = OcrflowStack(app, "Ocrflow", config=config.model_copy(update={"layer_dir": layer}))
    template = Template.from_stack(stack)
    functions = template.find_resources("AWS::Lambda::Function")
    ours = {k: v for k, v in functions.items() if k.startswith(("Workflow", "Api"))}
    assert len(ours) == 10  # eight steps, the API and the second engine
    assert all(f["Properties"]["Architectures"] == ["arm64"] for f in ours.values())
    (core,) = template.find_resources("AWS::Lambda::LayerVersion").values()
    assert core["Properties"]["CompatibleArchitectures"] == ["arm64"]
    manifest = json.loads((tmp_path / "out" / "Ocrflow.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"


def test_make_layer_arch_arm64_takes_aarch64_wheels():
    dry = subprocess.run(["make", "-n", "layer", "ARCH=arm64"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "--platform manylinux_2_28_aarch64" in dry.stdout and "build/layer-arm64" in dry.stdout
    assert "x86_64" not in dry.stdout.split("pip install", 1)[-1].split("\n", 1)[0]
