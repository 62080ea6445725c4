"""Features of LocalStack 4.8 that Switchyard's generated state machines and templates use."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from conftest import ENDPOINT, client, finished_execution, start_execution, unique, wait_until


def test_intrinsics_map_item_processor_and_task_token(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    definition = {
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Pass",
                "Parameters": {"items.$": "$.items", "next.$": "States.MathAdd($.round, 1)"},
                "Next": "FanOut",
            },
            "FanOut": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Agent",
                    "States": {
                        "Agent": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": name, "Payload.$": "$"},
                            "ResultSelector": {"seen.$": "$.Payload.event"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.results",
                "Next": "Approve",
            },
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": name, "Payload": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.approval",
                "End": True,
            },
        },
    }
    execution = start_execution(definition, {"items": ["a", "b"], "round": 41})
    sfn = client("stepfunctions")

    def task_token() -> str | None:
        for event in sfn.get_execution_history(executionArn=execution)["events"]:
            if event["type"] == "TaskScheduled":
                parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
                if "token" in parameters["Payload"]:
                    return parameters["Payload"]["token"]
        return None

    token = wait_until(task_token, "the waitForTaskToken task to be scheduled")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    result = finished_execution(execution)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {
        "items": ["a", "b"],
        "next": 42,
        "results": [{"seen": {"index": 0, "value": "a"}}, {"seen": {"index": 1, "value": "b"}}],
        "approval": {"approved": True},
    }


def test_cloudformation_function_from_s3_with_url_and_substituted_state_machine(
    code_zip: bytes,
) -> None:
    s3, cfn = client("s3"), client("cloudformation")
    bucket = unique("artifacts")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="echo.zip", Body=code_zip)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${FunctionArn}", "Payload": {"stage": "${Stage}"}},
                "ResultSelector": {"seen.$": "$.Payload.event"},
                "End": True,
            }
        },
    }
    template: dict[str, Any] = {
        "Parameters": {"Stage": {"Type": "String"}},
        "Resources": {
            "Echo": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Role": "arn:aws:iam::000000000000:role/switchyard-test",
                    "Code": {"S3Bucket": bucket, "S3Key": "echo.zip"},
                    "Environment": {"Variables": {"MODE": "echo"}},
                },
            },
            "EchoUrl": {
                "Type": "AWS::Lambda::Url",
                "Properties": {
                    "AuthType": "NONE",
                    "TargetFunctionArn": {"Fn::GetAtt": ["Echo", "Arn"]},
                },
            },
            "Workflow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::000000000000:role/switchyard-test",
                    "DefinitionString": json.dumps(definition),
                    "DefinitionSubstitutions": {
                        "FunctionArn": {"Fn::GetAtt": ["Echo", "Arn"]},
                        "Stage": {"Ref": "Stage"},
                    },
                },
            },
        },
        "Outputs": {
            "Url": {"Value": {"Fn::GetAtt": ["EchoUrl", "FunctionUrl"]}},
            "Workflow": {"Value": {"Ref": "Workflow"}},
        },
    }
    stack = unique("stack")
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": "dev"}],
    )
    try:
        status = wait_until(
            lambda: (
                (s := cfn.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"].endswith(
                    ("COMPLETE", "FAILED")
                )
                and s
            ),
            "the stack to be created",
            timeout_s=30,
        )
        assert status["StackStatus"] == "CREATE_COMPLETE", status.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in status["Outputs"]}

        result = finished_execution(
            client("stepfunctions").start_execution(stateMachineArn=outputs["Workflow"])[
                "executionArn"
            ]
        )
        assert result["status"] == "SUCCEEDED", result.get("cause")
        assert json.loads(result["output"]) == {"seen": {"stage": "dev"}}

        # The URL's host is <id>.lambda-url.<region>.localhost: resolvable by curl, not by
        # every resolver, so the request goes to LocalStack itself with that Host header.
        url = urlsplit(outputs["Url"])
        request = urllib.request.Request(
            ENDPOINT + "/",
            data=b'{"ping": 1}',
            headers={"Host": url.netloc, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        assert body["event"]["body"] == '{"ping": 1}'
    finally:
        cfn.delete_stack(StackName=stack)
