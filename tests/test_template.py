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
    assert dockerfile.splitlines()[[i for i, line in enumerate(dockerfile.splitlines()) if line.startswith("FROM")][0]] \
        == "FROM public.ecr.aws/lambda/python:3.11"
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "[aws,slack]" in dockerfile and "dev" not in re.findall(r"\[([^\]]+)\]", dockerfile)[0]
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


def test_http_api_routes_throttling_cors_and_url(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] and api["DefaultRouteSettings"]["ThrottlingBurstLimit"]
    assert "POST" in api["CorsConfiguration"]["AllowMethods"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"])
              for p in functions(template).values() for e in p.get("Events", {}).values() if e["Type"] == "HttpApi"}
    assert routes == {("POST", "/chat"), ("POST", "/slack/events")}
    assert "ApiUrl" in template["Outputs"]


def test_ingest_is_one_writer_triggered_by_articles_prefix(template: dict[str, Any]) -> None:
    ingest = functions(template)["IngestFunction"]
    assert ingest["ReservedConcurrentExecutions"] == 1
    [event] = ingest["Events"].values()
    assert event["Type"] == "S3" and event["Properties"]["Bucket"] == {"Ref": "ArticlesBucket"}
    assert set(event["Properties"]["Events"]) == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    assert event["Properties"]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "articles/"}]


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


def test_old_sqlite_is_swapped_for_pysqlite3_and_chroma_works(tmp_path: Any) -> None:
    pytest.importorskip("pysqlite3")
    code = (
        "import sys\n"
        "from newsdesk.adapters.sqlite_compat import ensure_modern_sqlite\n"
        "version = ensure_modern_sqlite(minimum=(99, 0, 0))  # pretend the system sqlite is too old\n"
        "import sqlite3, chromadb\n"
        "assert sqlite3.__name__ == 'pysqlite3', sqlite3.__name__\n"
        f"client = chromadb.PersistentClient(path={str(tmp_path)!r})\n"
        "c = client.get_or_create_collection('swap-test', embedding_function=None)\n"
        "c.add(ids=['a'], embeddings=[[1.0, 0.0]], documents=['x'])\n"
        "print(version, c.count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"
