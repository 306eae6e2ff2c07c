"""The SAM template and the Lambda image: lint-clean, every entry point real, the promised limits in place."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from cfnlint.decode import decode

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
HEAVY = ("torch", "sentence_transformers", "transformers", "langchain_core", "langchain_aws", "trafilatura", "chromadb")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert not problems, problems
    return dict(parsed)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def resolve(entry: str) -> Any:
    module, _, name = entry.rpartition(".")
    return getattr(importlib.import_module(module), name, None)


def test_cfn_lint_passes() -> None:
    cfn_lint = BIN / "cfn-lint" if (BIN / "cfn-lint").exists() else "cfn-lint"
    done = subprocess.run([str(cfn_lint), str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_entry_point_is_a_callable_in_handler(template: dict[str, Any]) -> None:
    entries = {name: p.get("Handler") or p["ImageConfig"]["Command"][0] for name, p in functions(template).items()}
    assert entries == {"ChatFunction": "handler.chat", "SlackFunction": "handler.slack",
                       "IngestFunction": "handler.ingest_s3"}
    cmd = re.search(r'^CMD \["([^"]+)"\]', (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd, "the Dockerfile needs an exec-form CMD"
    for entry in [*entries.values(), cmd.group(1)]:
        assert entry.startswith("handler.")
        assert callable(resolve(entry)), f"{entry} is not a callable in handler.py"


def test_functions_are_images_built_from_the_dockerfile(template: dict[str, Any]) -> None:
    for name, props in functions(template).items():
        assert props["PackageType"] == "Image", name
        assert template["Resources"][name]["Metadata"]["Dockerfile"] == "Dockerfile"
        assert props["MemorySize"] >= 1024 and props["Timeout"] <= 900
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "[aws,slack]" in dockerfile and "dev" not in re.findall(r"\[([^\]]+)\]", dockerfile)[0]
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_builds_for_both_architectures(template: dict[str, Any]) -> None:
    """arm64 (Graviton) as well as x86_64: a multi-arch base whose sqlite Chroma accepts, nothing x86-only."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    # Amazon Linux 2023 (sqlite 3.40); the python:3.11 image's Amazon Linux 2 has sqlite 3.7, below Chroma's 3.35.
    assert [line for line in instructions if line.startswith("FROM")] == ["FROM public.ecr.aws/lambda/python:3.12"]
    # pysqlite3-binary has x86_64 wheels only; no --platform pinned, so SAM/buildx choose the architecture.
    assert "pysqlite3" not in "\n".join(instructions) and "--platform" not in "\n".join(instructions)
    # The CPU wheel index serves x86_64 and aarch64 alike: the one torch line, with no architecture in it.
    [torch] = [line for line in instructions if "torch==" in line]
    assert torch == "RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    assert "import platform, sqlite3, chromadb" in dockerfile  # the build fails if Chroma refuses the sqlite
    assert "sqlite_compat" not in (ROOT / "handler.py").read_text()
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]


def parameter_rows(doc: str) -> dict[str, str]:
    """A doc's table of template parameters (the one headed `| parameter | default |`): each row's parameter
    names (in backticks) and its default cell."""
    text = (ROOT / "docs" / doc).read_text()
    table = text[text.index("| parameter | default |"):].split("\n\n")[0].splitlines()[2:]
    rows: dict[str, str] = {}
    for line in table:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for name in re.findall(r"`([A-Za-z0-9]+)`", cells[0]):
            rows[name] = cells[1]
    return rows


def test_the_docs_list_the_template_parameters_as_they_are(template: dict[str, Any]) -> None:
    """docs/aws.md lists every parameter, with its default; docs/deploy.md names none that does not exist."""
    parameters = template["Parameters"]
    documented = parameter_rows("aws.md")
    assert sorted(documented) == sorted(parameters)
    for name, default in documented.items():
        expected = str(parameters[name].get("Default", ""))
        assert default == (f"`{expected}`" if expected else "empty"), (name, default, expected)
    assert set(parameter_rows("deploy.md")) <= set(parameters)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["RouteKey"]: r for r in of_type(template, "AWS::ApiGatewayV2::Route").values()}


def ref(value: Any) -> str:
    assert isinstance(value, dict) and set(value) == {"Ref"}, value
    return str(value["Ref"])


def test_http_api_routes_reach_their_functions(template: dict[str, Any]) -> None:
    assert set(routes(template)) == {"POST /chat", "POST /slack/events", *PAGE_ROUTES, *DATA_ROUTES}
    assert not any(e.get("Type") == "HttpApi" for p in functions(template).values() for e in p.get("Events", {}).values())
    for key, function in (("POST /chat", "ChatFunction"), ("POST /slack/events", "SlackFunction")):
        route = routes(template)[key]["Properties"]
        integration = route["Target"]["Fn::Sub"].removeprefix("integrations/${").removesuffix("}")
        target = template["Resources"][integration]["Properties"]
        assert target["IntegrationType"] == "AWS_PROXY" and target["PayloadFormatVersion"] == "2.0"
        assert target["IntegrationUri"] == {"Fn::GetAtt": [function, "Arn"]}
        [permission] = [r["Properties"] for r in of_type(template, "AWS::Lambda::Permission").values()
                        if r["Properties"]["FunctionName"] == {"Ref": function}
                        and "/POST/" in r["Properties"]["SourceArn"]["Fn::Sub"]]
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["SourceArn"]["Fn::Sub"].endswith("${HttpApi}/*/" + key.replace(" ", ""))
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert "POST" in cors["AllowMethods"] and {"authorization", "x-amz-date", "x-amz-security-token"} <= set(
        cors["AllowHeaders"])
    assert {"ApiUrl", "ChatUrl", "ChatRouteArn", "SlackEventsUrl"} <= set(template["Outputs"])


PAGE_ROUTES = {"GET /", "GET /web/{name}", "GET /docs", "GET /openapi.json", "GET /health"}
DATA_ROUTES = {"GET /articles", "GET /articles/{id+}", "GET /outlets"}


def test_the_page_and_the_archive_routes(template: dict[str, Any]) -> None:
    """Every GET route the code serves is on the API, at the chat function: the page open, the data behind auth."""
    from newsdesk.api.openapi import ROUTES

    served = {f"{methods[0]} {path}" for path, methods in ROUTES.items()}
    on_api = {key.replace("{id+}", "{id}") for key in routes(template)}
    assert served <= on_api, served - on_api
    chat = routes(template)["POST /chat"]["Properties"]
    for key in PAGE_ROUTES | DATA_ROUTES:
        route = routes(template)[key]["Properties"]
        assert route["Target"] == {"Fn::Sub": "integrations/${ChatIntegration}"}
        if key in DATA_ROUTES:
            assert (route["AuthorizationType"], route["AuthorizerId"]) == (chat["AuthorizationType"], chat["AuthorizerId"])
        else:
            assert route["AuthorizationType"] == "NONE" and "AuthorizerId" not in route
    [get] = [r["Properties"] for r in of_type(template, "AWS::Lambda::Permission").values()
             if r["Properties"]["SourceArn"]["Fn::Sub"].endswith("${HttpApi}/*/GET/*")]
    assert get["FunctionName"] == {"Ref": "ChatFunction"}
    # One setting for CORS: API Gateway's (which answers preflights before the authorizer) and the code's.
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigin"}]} and "GET" in cors["AllowMethods"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["NEWSDESK_CORS_ORIGINS"] == {"Ref": "AllowedOrigin"}


def test_the_chat_route_requires_the_auth_mode_chosen(template: dict[str, Any]) -> None:
    mode = template["Parameters"]["AuthMode"]
    assert mode["AllowedValues"] == ["jwt", "iam", "none"] and mode["Default"] == "jwt"
    chat = routes(template)["POST /chat"]["Properties"]
    assert chat["AuthorizationType"] == {"Fn::If": ["AuthJwt", "JWT", {"Fn::If": ["AuthIam", "AWS_IAM", "NONE"]}]}
    assert chat["AuthorizerId"] == {"Fn::If": ["AuthJwt", {"Ref": "ChatAuthorizer"}, {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"]["AuthJwt"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "jwt"]}
    assert template["Conditions"]["AuthIam"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "iam"]}
    authorizer = template["Resources"]["ChatAuthorizer"]
    assert authorizer["Condition"] == "AuthJwt"
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT" and props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"] == {"Issuer": {"Ref": "JwtIssuer"},
                                         "Audience": {"Fn::Split": [",", {"Ref": "JwtAudience"}]}}
    # sam deploy refuses AuthMode=jwt without an issuer and an audience, instead of deploying an API nobody can call.
    rule = template["Rules"]["JwtNeedsIssuerAndAudience"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "jwt"]}
    assert '{"Ref": "JwtIssuer"}, ""' in json.dumps(rule) and '{"Ref": "JwtAudience"}, ""' in json.dumps(rule)


def test_slack_events_stay_open_to_slack(template: dict[str, Any]) -> None:
    slack = routes(template)["POST /slack/events"]["Properties"]
    assert slack["AuthorizationType"] == "NONE" and "AuthorizerId" not in slack
    assert len(of_type(template, "AWS::ApiGatewayV2::Authorizer")) == 1  # the chat route's, nothing else


def test_each_route_has_its_own_throttle(template: dict[str, Any]) -> None:
    [stage] = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    condition, with_slack, chat_only = props["RouteSettings"]["Fn::If"]
    assert condition == "WithSlack" and set(with_slack) == {"POST /chat", "POST /slack/events"}
    assert set(chat_only) == {"POST /chat"} and chat_only["POST /chat"] == with_slack["POST /chat"]
    limits = {key: (ref(v["ThrottlingRateLimit"]), ref(v["ThrottlingBurstLimit"])) for key, v in with_slack.items()}
    assert limits == {"POST /chat": ("ChatThrottleRate", "ChatThrottleBurst"),
                      "POST /slack/events": ("SlackThrottleRate", "SlackThrottleBurst")}
    for name in ("ChatThrottleRate", "ChatThrottleBurst", "SlackThrottleRate", "SlackThrottleBurst"):
        assert template["Parameters"][name]["Type"] == "Number" and template["Parameters"][name]["MinValue"] >= 1
    # Route settings name routes that must exist first: the stage refers to both routes, so it comes after them.
    description = json.dumps(props["Description"])
    assert "${ChatRoute}" in description and "${SlackRoute}" in description
    assert props["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    access_log = props["AccessLogSettings"]["Format"]
    assert json.loads(access_log)["auth_error"] == "$context.authorizer.error"


def test_ingest_is_one_writer_triggered_by_articles_prefix(template: dict[str, Any]) -> None:
    ingest = functions(template)["IngestFunction"]
    assert ingest["ReservedConcurrentExecutions"] == 1
    [event] = ingest["Events"].values()  # S3 notifications reach it through the queue (tests/test_sqs_ingest.py)
    assert event["Type"] == "SQS" and event["Properties"]["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    bucket = template["Resources"]["ArticlesBucket"]["Properties"]["NotificationConfiguration"]
    assert {c["Event"] for c in bucket["QueueConfigurations"]} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    for rule in bucket["QueueConfigurations"]:
        assert rule["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "articles/"}]


def test_query_functions_cannot_write_the_index(template: dict[str, Any]) -> None:
    for name in ("ChatFunction", "SlackFunction"):
        actions = {a for policy in functions(template)[name]["Policies"] if "Statement" in policy
                   for s in policy["Statement"] for a in s["Action"]}
        assert "s3:GetObject" in actions and not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for a in actions)


def test_slack_secrets_come_from_secrets_manager(template: dict[str, Any]) -> None:
    env = functions(template)["SlackFunction"]["Environment"]["Variables"]
    for name, key in (("SLACK_SIGNING_SECRET", "signing_secret"), ("SLACK_BOT_TOKEN", "bot_token")):
        assert env[name] == {"Fn::Sub": f"{{{{resolve:secretsmanager:${{SlackSecretName}}:SecretString:{key}}}}}"}
    assert env["NEWSDESK_SLACK_DEDUP_TABLE"] == {"Ref": "SlackDedupTable"}
    table = template["Resources"]["SlackDedupTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "event_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    text = json.dumps(template)
    assert "xoxb-" not in text


def test_a_chat_only_deployment_needs_no_slack_secret(template: dict[str, Any]) -> None:
    assert template["Parameters"]["SlackSecretName"]["Default"] == ""
    assert template["Conditions"]["WithSlack"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SlackSecretName"}, ""]}]}
    uses_slack = {name for name, r in template["Resources"].items() if "Slack" in name}
    assert {"SlackFunction", "SlackRoute", "SlackIntegration", "SlackInvokePermission", "SlackDedupTable",
            "SlackLogGroup", "SlackErrorsAlarm", "SlackThrottlesAlarm"} <= uses_slack
    for name in uses_slack:
        assert template["Resources"][name].get("Condition") == "WithSlack", name
    assert template["Outputs"]["SlackEventsUrl"]["Condition"] == "WithSlack"
    text = json.dumps({n: r for n, r in template["Resources"].items() if n not in uses_slack})
    assert "SlackSecretName" not in text and "SlackDedupTable" not in text


def test_bedrock_is_granted_only_for_the_configured_model(template: dict[str, Any]) -> None:
    assert template["Parameters"]["Answerer"]["Default"] == "extractive"
    assert template["Parameters"]["BedrockModelId"]["Default"] == ""
    for name in ("ChatFunction", "SlackFunction"):
        [conditional] = [p for p in functions(template)[name]["Policies"] if "Fn::If" in p]
        condition, granted, otherwise = conditional["Fn::If"]
        assert condition == "HasBedrockModel" and otherwise == {"Ref": "AWS::NoValue"}
        [statement] = granted["Statement"]
        assert statement["Action"] == ["bedrock:InvokeModel"]
        assert "foundation-model/${BedrockModelId}" in statement["Resource"]["Fn::Sub"]
    assert template["Conditions"]["HasBedrockModel"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "BedrockModelId"}, ""]}]}


def test_importing_handler_loads_no_heavy_library() -> None:
    code = f"import sys, handler; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in of_type(template, "AWS::CloudWatch::Alarm").items()}


def test_errors_and_throttles_of_every_function_raise_alarms(template: dict[str, Any]) -> None:
    watched = {(a["MetricName"], ref(a["Dimensions"][0]["Value"])) for a in alarms(template).values()
               if a["Namespace"] == "AWS/Lambda"}
    assert watched == {(metric, name) for metric in ("Errors", "Throttles") for name in functions(template)}
    for name, r in of_type(template, "AWS::CloudWatch::Alarm").items():
        dimension = r["Properties"]["Dimensions"][0]["Value"]
        if dimension == {"Ref": "SlackFunction"}:
            assert r.get("Condition") == "WithSlack", name  # no alarm on a function that is not deployed


def test_the_dead_letter_queue_has_an_alarm(template: dict[str, Any]) -> None:
    [dlq] = [a for a in alarms(template).values() if a["Namespace"] == "AWS/SQS"]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible" and dlq["Threshold"] == 1
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}}]
    assert dlq["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_alarms_on_our_metrics_watch_what_the_functions_emit(template: dict[str, Any],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The snapshot-age and server-error alarms name the namespace, metric and dimensions of real EMF lines."""
    from newsdesk import observability
    from newsdesk.settings import Settings
    from newsdesk.snapshots.snapshots import Manifest

    class Latest:
        where = "memory://"

        def get_tagged(self, key: str) -> tuple[bytes, str]:
            return Manifest("v1", "index/versions/v1/", "2024-03-05T10:15:00+00:00").to_json(), "etag"

    observability.configure(Settings(deployment="stack-name"))
    try:
        observability.observed_ingest(lambda: Latest())(lambda event, context: {"ingested": 0})({}, None)
        observability.observed("chat")(lambda event, context: {"statusCode": 503, "body": "{}"})({}, None)
    finally:
        observability.configure(Settings(), stream=sys.__stdout__)  # a stream that outlives this test
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["NEWSDESK_DEPLOYMENT"] == {"Ref": "AWS::StackName"}
    ours = {name: a for name, a in alarms(template).items() if a["Namespace"] == observability.NAMESPACE}
    assert set(ours) == {"SnapshotAgeAlarm", "ChatServerErrorsAlarm"}
    for alarm in ours.values():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["deployment"] == {"Ref": "AWS::StackName"}
        [line] = [e for e in emitted if e["service"] == dimensions["service"] and alarm["MetricName"] in e]
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == alarm["Namespace"] and [sorted(dimensions)] == directive["Dimensions"]
        assert line["deployment"] == "stack-name"
    age = ours["SnapshotAgeAlarm"]
    assert age["Statistic"] == "Minimum" and age["Threshold"] == {"Ref": "SnapshotAgeAlarmSeconds"}
    assert age["TreatMissingData"] == "notBreaching"  # no uploads, no runs, no data: nothing is stuck


def test_every_alarm_notifies_the_topic_when_one_is_given(template: dict[str, Any]) -> None:
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for name, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == notify and alarm["OKActions"] == notify, name
        assert alarm["AlarmDescription"], name


def test_every_function_logs_to_a_group_with_retention(template: dict[str, Any]) -> None:
    for name, props in functions(template).items():
        group = ref(props["LoggingConfig"]["LogGroup"])
        resource = template["Resources"][group]
        assert resource["Type"] == "AWS::Logs::LogGroup"
        assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert resource.get("Condition") == template["Resources"][name].get("Condition"), name
    assert template["Parameters"]["LogRetentionDays"]["Default"] in template["Parameters"]["LogRetentionDays"][
        "AllowedValues"]


def test_tracing_architecture_and_log_settings_are_parameters(template: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    env = globals_["Environment"]["Variables"]
    assert env["NEWSDESK_LOG_LEVEL"] == {"Ref": "LogLevel"} and env["NEWSDESK_LOG_QUESTIONS"] == {"Ref": "LogQuestions"}
    assert template["Parameters"]["LogQuestions"]["Default"] == "false"
