"""Time to ack a signed Slack mention through handler.slack: warm, and from a new process (import + first call)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack_fake import BOT_TOKEN, SIGNING_SECRET, FakeSlack, api_gateway_event, events_body  # noqa: E402

COLD = """
import json, sys, time
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
from tests.slack_fake import api_gateway_event
event = api_gateway_event(sys.argv[1])
t2 = time.perf_counter()
response = handler.slack(event, None)
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ack_ms": (t3 - t2) * 1000, "status": response["statusCode"]}))
"""


def main(warm_runs: int = 50, cold_runs: int = 5) -> None:
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as store:
        os.environ.update({
            "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN, "NEWSDESK_SLACK_API_URL": fake.base_url,
            "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_STORE": store, "HF_HUB_OFFLINE": "1",
        })
        import handler
        from newsdesk.app import slack_entry_from_env

        warm: list[float] = []
        for i in range(warm_runs + 1):
            body = json.loads(events_body("app_mention", ts=f"1710150000.{i:06d}"))
            event = api_gateway_event(json.dumps({**body, "event_id": f"EvBench{i}"}))  # a new event each time
            started = time.perf_counter()
            assert handler.slack(event, None)["statusCode"] == 200
            elapsed = (time.perf_counter() - started) * 1000
            local = slack_entry_from_env().local
            assert local is not None
            local.wait()  # let the lazy answer finish so it does not compete with the next ack
            if i:  # the first call builds the app and calls auth.test once
                warm.append(elapsed)
        warm.sort()
        print(f"warm ack over {warm_runs} mentions: median {statistics.median(warm):.1f} ms, "
              f"p95 {warm[int(len(warm) * 0.95) - 1]:.1f} ms, max {warm[-1]:.1f} ms")

        for _ in range(cold_runs):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", COLD, events_body("app_mention")], cwd=ROOT, env=os.environ,
                                 capture_output=True, text=True, check=True)
            total = (time.perf_counter() - started) * 1000
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"new process: import handler {result['import_ms']:.0f} ms + first ack {result['first_ack_ms']:.0f} ms "
                  f"(status {result['status']}; whole process incl. interpreter start and lazy answer {total:.0f} ms)")
        print(f"Slack API calls seen by the fake: {len(fake.calls)}")


if __name__ == "__main__":
    main()
