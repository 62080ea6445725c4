"""Small steps of infra/deploy that are clearer in Python than in shell.

    zip BINARY DIR            write DIR/bootstrap-<digest>.zip (bootstrap at the root, mode 0755)
                              unless it exists; print the digest
    tables TEMPLATE PREFIX    create the template's DynamoDB tables where AWS_ENDPOINT_URL_DYNAMODB points
    outputs TARGET REGION OUT read `describe-stacks` JSON on stdin; write the deployment file
    hotswap STACK TEMPLATE RECORD ZIP KEY=VALUE...
                              when the stack is what RECORD says the last full deploy made and
                              only CodeKey and ApprovalLinkSecretVersion changed, put ZIP and
                              the version into the functions directly; exit 1 when a full
                              deploy is needed
    record STACK TEMPLATE RECORD ZIP KEY=VALUE...
                              after a full deploy: write RECORD, and give any function whose code
                              is not ZIP (a hotswap CloudFormation does not know of) ZIP
    model-parameters MANIFEST print one template parameter per agent, `Model<Agent>=<model>`, from
                              the agent's SWITCHYARD_MODEL_<AGENT> (empty when unset, so an
                              override left out of a deploy is removed, not kept)
    link-secret NAME FILE|- [rotate]
                              make SSM parameter NAME a SecureString holding the approval link
                              secret(s), newest first, comma-separated; print its version.
                              The value: $SWITCHYARD_APPROVAL_LINK_SECRET if set, else FILE's
                              (local dev: tests sign links with it), else what NAME holds, else a
                              new secret. Written only when it differs (idempotent); FILE is
                              kept equal to it, mode 0600. `rotate` puts a new secret first and
                              keeps the previous ones (at most LINK_SECRET_KEEP in all), so links
                              already sent stay valid. The secret never goes on a command line.
"""

import base64
import glob
import hashlib
import json
import os
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor


def write_zip(binary: str, out_dir: str) -> None:
    data = open(binary, "rb").read()
    digest = hashlib.sha256(data).hexdigest()[:16]
    out = os.path.join(out_dir, f"bootstrap-{digest}.zip")
    if not os.path.exists(out):  # zipping a debug binary takes seconds: once per binary
        for old in glob.glob(os.path.join(out_dir, "bootstrap*.zip")):
            os.remove(old)
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16  # a regular, executable file
        info.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(out + ".partial", "w", compresslevel=1) as archive:
            archive.writestr(info, data)
        os.replace(out + ".partial", out)
    print(digest)


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
        enable_ttl(client, name, props)


def enable_ttl(client, name: str, props: dict) -> None:
    """The table's Time to Live, if the template gives it one. Best effort: readers check
    expiry themselves (DynamoDB deletes late, DynamoDB Local may not at all)."""
    ttl = props.get("TimeToLiveSpecification")
    if not ttl:
        return
    try:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        print(f"{name}: time to live on {ttl['AttributeName']}")
    except Exception as error:  # noqa: BLE001 - an optional feature of the local emulator
        print(f"{name}: time to live not enabled ({error}); expired items are still never served")


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
            "graphs": outputs.get("GraphsTable"),
            "parked": outputs.get("ParkedTable"),
            "view_links": outputs.get("ViewLinksTable"),
            "model_cache": outputs.get("ModelCacheTable"),
        },
        "api_url": outputs.get("ApiUrl"),
        "graph_role_arn": outputs.get("GraphStateMachineRole"),
        "approval_callback_url": outputs.get("ApprovalCallbackUrl"),
        "payload_bucket": outputs.get("PayloadBucket"),
        # The SSM parameter's name; its value is never in the stack's outputs.
        "approval_link_secret_parameter": outputs.get("ApprovalLinkSecretParameter"),
    }
    with open(out, "w") as f:
        json.dump(deployment, f, indent=2, sort_keys=True)
        f.write("\n")


# The hotswap: CloudFormation in LocalStack creates and updates resources one at a time and
# waits about 5 s for each function to become active, minutes for the whole stack. When the
# template and every parameter but CodeKey are what the last full deploy from this checkout
# used, and the stack has not been updated since, the only change is the functions' code:
# update-function-code does that, for all functions at once. The record is local state; the
# stack itself still names the old CodeKey, so `record` (after every full deploy) compares
# each function's code with the zip and puts right what CloudFormation saw no reason to touch.

CODE_FROM_PARAMETERS = {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
# Parameters a hotswap puts into the functions itself: the code, and the link secret's SSM
# version (a rotation), which only restarts the functions that read the secret. LocalStack
# 4.8's CloudFormation cannot update this stack at all (CreateChangeSet fails on any
# `Fn::If` with `AWS::NoValue`), so a rotation must not need a stack update locally.
HOTSWAPPED = ("CodeKey=", "ApprovalLinkSecretVersion=")
LINK_SECRET_VERSION_VAR = "APPROVAL_LINK_SECRET_VERSION"


def stack_state(cfn, stack: str, template_path: str, parameters: list[str]) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError:
        return None
    template = open(template_path, "rb").read()
    return {
        "stack_id": described["StackId"],
        "status": described["StackStatus"],
        "updated": str(described.get("LastUpdatedTime") or described["CreationTime"]),
        "template_sha256": hashlib.sha256(template).hexdigest(),
        # hashed: short, and nothing in it needs reading back
        "parameters_sha256": hashlib.sha256(
            "\n".join(sorted(p for p in parameters if not p.startswith(HOTSWAPPED))).encode()
        ).hexdigest(),
    }


def code_functions(cfn, stack: str, template_path: str) -> list[str] | None:
    """The physical names of the functions whose code is CodeBucket/CodeKey; None when
    anything else in the template depends on CodeKey (then only CloudFormation knows)."""
    template = json.load(open(template_path))
    resources = template["Resources"]
    logical = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"
               and r["Properties"].get("Code") == CODE_FROM_PARAMETERS]
    references = json.dumps(template).count('{"Ref": "CodeKey"}')
    if references != len(logical) or any(
        r["Type"] in ("AWS::Lambda::Version", "AWS::Lambda::Alias") for r in resources.values()
    ):
        return None
    physical = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            physical[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId")
    if any(not physical.get(name) for name in logical):
        return None
    return [physical[name] for name in logical]


def sync_code(functions: list[str], zip_path: str, parameters: list[str]) -> int:
    """Gives every function whose code differs from ZIP the uploaded ZIP, and every function
    that reads the link secret the current ApprovalLinkSecretVersion (a new one restarts it);
    returns how many functions changed."""
    import boto3

    values = dict(p.split("=", 1) for p in parameters)
    sha = base64.b64encode(hashlib.sha256(open(zip_path, "rb").read()).digest()).decode()
    version = values.get("ApprovalLinkSecretVersion")
    client = boto3.client("lambda")

    def settle(name: str, done) -> dict:
        deadline = time.monotonic() + 120
        while True:
            config = client.get_function_configuration(FunctionName=name)
            status = config.get("LastUpdateStatus", "Successful")
            if status == "Successful" and done(config):
                return config
            if status == "Failed" or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: update {status}: {config.get('LastUpdateStatusReason')}")
            time.sleep(0.2)

    def update(name: str) -> bool:
        config = client.get_function_configuration(FunctionName=name)
        changed = False
        if config["CodeSha256"] != sha:
            client.update_function_code(
                FunctionName=name, S3Bucket=values["CodeBucket"], S3Key=values["CodeKey"]
            )
            config = settle(name, lambda c: c["CodeSha256"] == sha)
            changed = True
        variables = config.get("Environment", {}).get("Variables", {})
        if version is not None and LINK_SECRET_VERSION_VAR in variables \
                and variables[LINK_SECRET_VERSION_VAR] != version:
            client.update_function_configuration(
                FunctionName=name,
                Environment={"Variables": {**variables, LINK_SECRET_VERSION_VAR: version}},
            )
            settle(name, lambda c: c.get("Environment", {}).get("Variables", {})
                   .get(LINK_SECRET_VERSION_VAR) == version)
            changed = True
        return changed

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(update, functions))


def hotswap(stack: str, template_path: str, record_path: str, zip_path: str, *parameters: str) -> None:
    import boto3

    cfn = boto3.client("cloudformation")
    try:
        recorded = json.load(open(record_path))
    except (OSError, ValueError):
        recorded = None
    current = stack_state(cfn, stack, template_path, list(parameters))
    if current is None or recorded != current or current["status"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        print("deploy: the stack, template or parameters changed since the last deploy from here")
        sys.exit(1)
    functions = code_functions(cfn, stack, template_path)
    if functions is None:
        print("deploy: the template depends on CodeKey beyond the functions' code")
        sys.exit(1)
    started = time.monotonic()
    try:
        updated = sync_code(functions, zip_path, list(parameters))
    except Exception as error:  # a full deploy, whose `record` finishes the job, then
        print(f"deploy: hotswap failed ({error})")
        sys.exit(1)
    if updated:
        print(f"hotswap: new code or link secret version in {updated} of {len(functions)} "
              f"functions in {time.monotonic() - started:.1f}s (template and other parameters unchanged)")
    else:
        print(f"stack {stack} is up to date: template, parameters and code unchanged")


def record(stack: str, template_path: str, record_path: str, zip_path: str, *parameters: str) -> None:
    import boto3

    cfn = boto3.client("cloudformation")
    functions = code_functions(cfn, stack, template_path)
    if functions is not None:
        updated = sync_code(functions, zip_path, list(parameters))
        if updated:
            print(f"new code or link secret version in {updated} functions CloudFormation left "
                  "unchanged (earlier hotswap)")
    current = stack_state(cfn, stack, template_path, list(parameters))
    with open(record_path, "w") as f:
        json.dump(current, f, indent=2)
        f.write("\n")


# The approval link secret: at most this many keys verify (the newest signs).
LINK_SECRET_KEEP = 3
LINK_SECRET_MIN_BYTES = 32


def new_link_secret() -> str:
    import secrets

    return secrets.token_urlsafe(48)


def link_secret(name: str, file: str, *options: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    rotate = "rotate" in options
    ssm = boto3.client("ssm")
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
        parameter = None
    stored = parameter["Value"].strip() if parameter else None
    wanted = os.environ.get("SWITCHYARD_APPROVAL_LINK_SECRET", "").strip() or None
    if wanted is None and file != "-" and os.path.isfile(file):
        wanted = open(file).read().strip() or None
    value = wanted or stored or new_link_secret()
    if rotate:
        keys = [k for k in (k.strip() for k in value.split(",")) if k]
        value = ",".join([new_link_secret(), *keys][:LINK_SECRET_KEEP])
    keys = [k.strip() for k in value.split(",")]
    if not all(len(k.encode()) >= LINK_SECRET_MIN_BYTES for k in keys):
        sys.exit(f"deploy: every approval link secret must be at least {LINK_SECRET_MIN_BYTES} bytes")
    if parameter is None or stored != value or parameter["Type"] != "SecureString":
        # Encrypted with the account's AWS-managed aws/ssm key (no KeyId).
        version = ssm.put_parameter(
            Name=name, Value=value, Type="SecureString", Overwrite=parameter is not None,
            Description="Switchyard approval link HMAC key(s), newest first (written by infra/deploy)",
        )["Version"]
        what = "rotated" if rotate else ("created" if parameter is None else "updated")
        print(f"approval link secret {what} in SSM parameter {name} (version {version}, "
              f"{len(keys)} key{'s' if len(keys) > 1 else ''})", file=sys.stderr)
    else:
        version = parameter["Version"]
    if file != "-":
        current = open(file).read().strip() if os.path.isfile(file) else None
        if current != value:
            # Readable by its owner only from the first byte, and kept so if made earlier.
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value + "\n")
        os.chmod(file, 0o600)
    print(version)


def model_parameters(manifest_path: str) -> None:
    # The manifest names each agent's parameter and variable; nothing is derived here.
    for agent in json.load(open(manifest_path))["agents"]:
        value = os.environ.get(agent["model_variable"], "").strip()
        print(f"{agent['model_parameter']}={value}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {
        "zip": write_zip,
        "tables": create_tables,
        "outputs": write_outputs,
        "hotswap": hotswap,
        "record": record,
        "model-parameters": model_parameters,
        "link-secret": link_secret,
    }[command](*args)
