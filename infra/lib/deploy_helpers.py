"""Small steps of infra/deploy that are clearer in Python than in shell.

    zip BINARY OUT            write a Lambda zip (bootstrap at the root, mode 0755); print its digest
    tables TEMPLATE PREFIX    create the template's DynamoDB tables where AWS_ENDPOINT_URL_DYNAMODB points
    outputs TARGET REGION OUT read `describe-stacks` JSON on stdin; write the deployment file
"""

import hashlib
import json
import os
import sys
import zipfile


def write_zip(binary: str, out: str) -> None:
    data = open(binary, "rb").read()
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # a regular, executable file
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(info, data)
    print(hashlib.sha256(data).hexdigest()[:16])


def create_tables(template_path: str, prefix: str) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    existing = set(client.list_tables()["TableNames"])
    waiter = client.get_waiter("table_exists")
    template = json.load(open(template_path))
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = props["TableName"]["Fn::Sub"].replace("${TablePrefix}", prefix)
        if name in existing:
            add_missing_indexes(client, name, props)
            print(f"{name}: exists")
            continue
        args = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props["BillingMode"],
        }
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        client.create_table(**args)
        waiter.wait(TableName=name)
        print(f"{name}: created")


def add_missing_indexes(client, name: str, props: dict) -> None:
    """Indexes added to the template since the table was made, one per call (DynamoDB's rule)."""
    have = {i["IndexName"] for i in client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        used = {k["AttributeName"] for k in index["KeySchema"]}
        client.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in props["AttributeDefinitions"] if a["AttributeName"] in used],
            GlobalSecondaryIndexCreates=[{"Create": index}],
        )
        print(f"{name}: index {index['IndexName']} added")


def write_outputs(target: str, region: str, out: str) -> None:
    stack = json.load(sys.stdin)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    machines = {}
    for key, value in outputs.items():
        if key.startswith("StateMachine"):
            # The ARN ends with the state machine name, switchyard-<workflow>.
            machines[value.rsplit(":", 1)[-1].removeprefix("switchyard-")] = value
    deployment = {
        "target": target,
        "region": region,
        "stack": stack["StackName"],
        "endpoints": {
            "aws": os.environ.get("AWS_ENDPOINT_URL"),
            "dynamodb": os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"),
        },
        "state_machines": dict(sorted(machines.items())),
        "tables": {
            "runs": outputs.get("RunsTable"),
            "steps": outputs.get("StepsTable"),
            "approvals": outputs.get("ApprovalsTable"),
            "api_keys": outputs.get("ApiKeysTable"),
        },
        "api_url": outputs.get("ApiUrl"),
        "approval_callback_url": outputs.get("ApprovalCallbackUrl"),
        "payload_bucket": outputs.get("PayloadBucket"),
    }
    with open(out, "w") as f:
        json.dump(deployment, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"zip": write_zip, "tables": create_tables, "outputs": write_outputs}[command](*args)
