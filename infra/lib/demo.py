"""Start a campaign run and follow it: one line per state entered, then the result."""

import json
import sys
import time
import uuid

import boto3


def main(deployment_path: str, brand: str, month: str, tenant: str) -> int:
    deployment = json.load(open(deployment_path))
    sfn = boto3.client("stepfunctions")
    run_id = f"{brand}-{month}-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(
        stateMachineArn=deployment["state_machines"]["campaign-creation"],
        name=run_id,
        input=json.dumps({"input": {"brand_id": brand, "selected_month": month}, "tenant_id": tenant}),
    )["executionArn"]
    print(f"\nrun {run_id} started (campaign-creation, brand {brand}, month {month})\n")
    seen = 0
    started = time.monotonic()
    while True:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        for event in events[seen:]:
            details = event.get("stateEnteredEventDetails")
            if details and not details["name"].endswith(("-when", "-decision", "-check", "-count", "-limit")):
                print(f"  {time.monotonic() - started:6.2f}s  {details['name']}")
        seen = len(events)
        status = sfn.describe_execution(executionArn=arn)
        if status["status"] != "RUNNING":
            break
        if time.monotonic() - started > 120:
            print("\nstill running after 120 s (waiting at an approval gate?)")
            return 1
        time.sleep(0.3)
    print(f"\n{status['status']} in {time.monotonic() - started:.1f}s")
    if status["status"] == "SUCCEEDED":
        print(json.dumps(json.loads(status["output"]), indent=2))
        return 0
    print(f"error: {status.get('error')}: {status.get('cause')}")
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
