//! A CloudFormation template for everything the manifest lists: one IAM role and Lambda
//! function per agent (least privilege), the approval-request function, one role and state
//! machine per workflow with its function ARNs substituted, and the DynamoDB tables.
//!
//! The same template deploys to AWS and to LocalStack; parameters carry the differences
//! (code location, environment, a DynamoDB endpoint for DynamoDB Local, whether the stack
//! owns the tables). What LocalStack's CloudFormation cannot create (the CloudWatch
//! dashboard) is created on AWS only (the `OnAws` condition).

use serde_json::{json, Map, Value};

use super::manifest::Manifest;
use super::{pascal_case, RUN_TRACKER_SUBSTITUTION};
use switchyard_ir::{GRAPH_WORKFLOW_PREFIX, RESOURCE_PREFIX};
use switchyard_state::schema::metrics::{self, Metric};
use switchyard_state::schema::{
    env, Key, PlatformFunction as Platform, Table, TableSpec, RUN_END_STATUSES,
};

pub const FILE_NAME: &str = "template.json";
/// Logical id of the bucket holding step outputs too large for Step Functions.
const PAYLOAD_BUCKET: &str = "PayloadBucket";
/// Logical id of the schedule that ticks the reconciler in the API function, and its rate.
const RECONCILE_SCHEDULE: &str = "ReconcileSchedule";
const RECONCILE_RATE: &str = "rate(5 minutes)";
/// The EventBridge rule that sends executions' status changes to the run-tracker.
const RUN_STATUS_EVENTS: &str = "RunStatusEvents";
/// The role of state machines built from graphs at run time.
const GRAPH_ROLE: &str = "GraphStateMachineRole";
/// Memory for every function; Rust agents need little, Lambda's CPU share scales with it.
const FUNCTION_MEMORY_MB: u32 = 256;
/// Logical id of the CloudWatch dashboard, and the condition it is created under: on AWS
/// only (a local deployment names its DynamoDB Local endpoint, and LocalStack 4.8's
/// CloudFormation has no `AWS::CloudWatch::Dashboard`).
const DASHBOARD: &str = "Dashboard";
const ON_AWS: &str = "OnAws";
/// The dashboard's graphs: title, the dimensions its lines are split by, the metric and the
/// statistic. Each line is one workflow, agent or gate found by a search, so graphs run at
/// run time and agents deployed later show without a new template.
const DASHBOARD_GRAPHS: [(&str, &[&str], Metric, &str); 12] = [
    (
        "Runs succeeded, per workflow",
        &[metrics::WORKFLOW],
        metrics::RUN_SUCCEEDED,
        "Sum",
    ),
    (
        "Runs failed, per workflow",
        &[metrics::WORKFLOW],
        metrics::RUN_FAILED,
        "Sum",
    ),
    (
        "Runs cancelled, per workflow",
        &[metrics::WORKFLOW],
        metrics::RUN_CANCELLED,
        "Sum",
    ),
    // Each end counts 1 in one of the three: the average of one is its rate.
    (
        "Completion rate, per workflow",
        &[metrics::WORKFLOW],
        metrics::RUN_SUCCEEDED,
        "Average",
    ),
    (
        "Run duration p95 (ms), per workflow",
        &[metrics::WORKFLOW],
        metrics::RUN_DURATION,
        "p95",
    ),
    (
        "Approval turnaround p95 (ms), per gate",
        &[metrics::WORKFLOW, metrics::GATE],
        metrics::APPROVAL_TURNAROUND,
        "p95",
    ),
    (
        "Agent success rate, per agent",
        &[metrics::AGENT],
        metrics::AGENT_SUCCEEDED,
        "Average",
    ),
    (
        "Agent failures, per agent",
        &[metrics::AGENT],
        metrics::AGENT_FAILED,
        "Sum",
    ),
    (
        "Agent latency p95 (ms), per agent",
        &[metrics::AGENT],
        metrics::AGENT_LATENCY,
        "p95",
    ),
    (
        "Agent failures, per workflow and agent",
        &[metrics::WORKFLOW, metrics::AGENT],
        metrics::AGENT_FAILED,
        "Sum",
    ),
    (
        "Tokens, per agent",
        &[metrics::AGENT],
        metrics::TOKENS,
        "Sum",
    ),
    (
        "Cost (USD), per agent",
        &[metrics::AGENT],
        metrics::COST_USD,
        "Sum",
    ),
];
/// Seconds each point of a graph sums.
const DASHBOARD_PERIOD: u32 = 300;

pub fn write(manifest: &Manifest<'_>, definitions: &[(String, String)]) -> String {
    let mut text = serde_json::to_string_pretty(&template(manifest, definitions))
        .expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// `definitions` pairs each state machine's workflow name with its ASL text.
pub fn template(manifest: &Manifest<'_>, definitions: &[(String, String)]) -> Value {
    let mut resources = Map::new();
    let mut outputs = Map::new();
    for table in Table::ALL {
        resources.insert(table.spec().logical_id.into(), table_resource(table.spec()));
    }
    resources.insert(
        PAYLOAD_BUCKET.into(),
        json!({
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": payload_bucket_name(),
                // Offloaded step outputs are only needed while runs are inspected.
                "LifecycleConfiguration": {
                    "Rules": [{ "Id": "expire-payloads", "Status": "Enabled", "ExpirationInDays": 30 }],
                },
                // Run data is never public, whatever a later ACL or policy says.
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true,
                    "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                },
            },
        }),
    );
    resources.insert(
        "PayloadBucketPolicy".into(),
        json!({
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": { "Ref": PAYLOAD_BUCKET },
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            { "Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{}", payload_bucket_pattern()) },
                            { "Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{}/*", payload_bucket_pattern()) },
                        ],
                        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                    }],
                },
            },
        }),
    );
    outputs.insert(
        PAYLOAD_BUCKET.into(),
        json!({ "Value": { "Ref": PAYLOAD_BUCKET } }),
    );
    for agent in &manifest.agents {
        let id = pascal_case(agent.agent);
        let policies = vec![
            logs_policy(&agent.function_name),
            // An attempt's start and end are two conditional puts of its own item.
            dynamodb_policy(&[Table::Steps], &["dynamodb:PutItem"]),
            // Whether the run is paused, read before an agent starts; its budget, read before
            // the first model exchange, and its spending, added to as an attempt ends.
            dynamodb_policy(&[Table::Runs], &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
            // The opt-in response cache: a reply read, or kept.
            dynamodb_policy(
                &[Table::ModelCache],
                &["dynamodb:GetItem", "dynamodb:PutItem"],
            ),
            json!({
                "PolicyName": "payloads",
                "PolicyDocument": statement(
                    json!(["s3:GetObject", "s3:PutObject"]),
                    // Offloaded outputs and the outbox of recorded messages.
                    json!(["runs", "outbox"].map(|prefix| json!({
                        "Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{}/{prefix}/*", payload_bucket_pattern())
                    }))),
                ),
            }),
            // Conversation traces too large for their step record: written, never read back.
            json!({
                "PolicyName": "traces",
                "PolicyDocument": statement(json!(["s3:PutObject"]), traces_arn()),
            }),
        ];
        resources.insert(format!("Role{id}"), lambda_role(policies));
        let mut extra = Map::new();
        extra.insert(env::TRACE_REDACT.into(), json!({ "Ref": "TraceRedact" }));
        extra.insert(
            env::AGENT_MODEL.into(),
            json!({ "Ref": agent.model_parameter }),
        );
        resources.insert(
            format!("Fn{id}"),
            function(
                &agent.function_name,
                agent.agent,
                agent.timeout_seconds,
                &format!("Role{id}"),
                agent.description,
                extra,
            ),
        );
    }
    // State machines the Run API builds from graphs at run time assume this role: it may
    // invoke the agents' functions and the run-tracker (where paused steps wait), and
    // nothing else.
    let mut agent_arns: Vec<Value> = manifest
        .agents
        .iter()
        .map(|agent| json!({ "Fn::GetAtt": [format!("Fn{}", pascal_case(agent.agent)), "Arn"] }))
        .collect();
    agent_arns.push(
        json!({ "Fn::GetAtt": [function_logical_id(manifest, RUN_TRACKER_SUBSTITUTION), "Arn"] }),
    );
    resources.insert(
        GRAPH_ROLE.into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume("states.amazonaws.com"),
                "Policies": [{
                    "PolicyName": "invoke-agents",
                    "PolicyDocument": statement(json!(["lambda:InvokeFunction"]), json!(agent_arns)),
                }],
            },
        }),
    );
    let send_task = || {
        json!({
            "PolicyName": "resume-runs",
            "PolicyDocument": statement(
                json!(["states:SendTaskSuccess", "states:SendTaskFailure"]),
                json!("*"),
            ),
        })
    };
    for platform in &manifest.platform_functions {
        let id = pascal_case(platform.role);
        let mut extra = Map::new();
        let (description, mut policies) = match platform.function {
            Platform::RunTracker => {
                extra.insert(
                    env::STATE_MACHINE_ARN_PREFIX.into(),
                    json!({ "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:switchyard-" }),
                );
                (
                    "Records runs ending from their executions' status-change events, expires approvals nobody waits for, keeps the paused steps' waits",
                    vec![
                        dynamodb_policy(&[Table::Runs], &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                        dynamodb_policy(&[Table::Parked], &["dynamodb:PutItem", "dynamodb:DeleteItem"]),
                        // A step that parks after its run was resumed goes on by itself.
                        send_task(),
                        dynamodb_policy(&[Table::Steps], &["dynamodb:Query"]),
                        dynamodb_policy(
                            &[Table::Approvals],
                            &["dynamodb:Query", "dynamodb:UpdateItem"],
                        ),
                    ],
                )
            }
            Platform::Api => {
                extra.insert(
                    env::STATE_MACHINE_ARN_PREFIX.into(),
                    json!({ "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:switchyard-" }),
                );
                let states = |resource: &str, actions: Value| {
                    json!({
                        "PolicyName": format!("states-{}", resource.split(':').next().unwrap_or_default()),
                        "PolicyDocument": statement(
                            actions,
                            json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:{resource}") }),
                        ),
                    })
                };
                extra.insert(
                    env::GRAPH_ROLE_ARN.into(),
                    json!({ "Fn::GetAtt": [GRAPH_ROLE, "Arn"] }),
                );
                (
                    "The Run API (behind a Function URL): start, inspect, pause, resume, cancel runs, decide approvals, run graphs",
                    vec![
                        // A status read takes the run and the caller's key in one BatchGetItem.
                        dynamodb_policy(&[Table::Runs], &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]),
                        dynamodb_policy(&[Table::Steps], &["dynamodb:Query"]),
                        dynamodb_policy(&[Table::Approvals], &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]),
                        dynamodb_policy(&[Table::ApiKeys], &["dynamodb:GetItem", "dynamodb:BatchGetItem"]),
                        dynamodb_policy(&[Table::Graphs], &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]),
                        // Resume sends the parked steps' tokens on; cancel fails them.
                        dynamodb_policy(&[Table::Parked], &["dynamodb:Query", "dynamodb:DeleteItem"]),
                        // Run pages: the API creates and reads view links (never API keys).
                        dynamodb_policy(&[Table::ViewLinks], &["dynamodb:GetItem", "dynamodb:PutItem"]),
                        // A step's trace endpoint reads the traces the agents offloaded.
                        json!({
                            "PolicyName": "read-traces",
                            "PolicyDocument": statement(json!(["s3:GetObject"]), traces_arn()),
                        }),
                        states("stateMachine:switchyard-*", json!(["states:StartExecution"])),
                        // Graphs sent at run time: their own state machines alone, created
                        // with the one role made for them.
                        json!({
                            "PolicyName": "build-graphs",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": ["states:CreateStateMachine", "states:DescribeStateMachine", "states:TagResource"],
                                        "Resource": { "Fn::Sub": format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{RESOURCE_PREFIX}{GRAPH_WORKFLOW_PREFIX}*") },
                                    },
                                    {
                                        "Effect": "Allow",
                                        "Action": ["iam:PassRole"],
                                        "Resource": { "Fn::GetAtt": [GRAPH_ROLE, "Arn"] },
                                        "Condition": { "StringEquals": { "iam:PassedToService": "states.amazonaws.com" } },
                                    },
                                ],
                            },
                        }),
                        states(
                            "execution:switchyard-*:*",
                            json!(["states:DescribeExecution", "states:StopExecution", "states:GetExecutionHistory"]),
                        ),
                        send_task(),
                        json!({
                            "PolicyName": "read-agent-logs",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    { "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": { "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*" } },
                                    { "Effect": "Allow", "Action": ["logs:FilterLogEvents"], "Resource": { "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/switchyard-*:*" } },
                                ],
                            },
                        }),
                    ],
                )
            }
            Platform::ApprovalCallback => {
                link_secret_variables(&mut extra);
                (
                    "Shows and decides approval links (behind a Function URL)",
                    vec![
                        dynamodb_policy(
                            &[Table::Approvals],
                            &["dynamodb:GetItem", "dynamodb:UpdateItem"],
                        ),
                        send_task(),
                        link_secret_policy(),
                    ],
                )
            }
            Platform::ApprovalRequest => {
                link_secret_variables(&mut extra);
                extra.insert(
                    env::APPROVAL_CALLBACK_URL.into(),
                    json!({ "Fn::GetAtt": ["UrlApprovalCallback", "FunctionUrl"] }),
                );
                extra.insert(
                    "APPROVAL_WEBHOOK_URL".into(),
                    json!({ "Ref": "ApprovalWebhookUrl" }),
                );
                extra.insert(
                    "APPROVAL_EMAIL_FROM".into(),
                    json!({ "Ref": "ApprovalEmailFrom" }),
                );
                extra.insert(
                    "APPROVAL_EMAIL_TO".into(),
                    json!({ "Ref": "ApprovalEmailTo" }),
                );
                (
                    "Records approval requests and their task tokens, signs links, notifies",
                    vec![
                        dynamodb_policy(&[Table::Approvals], &["dynamodb:PutItem"]),
                        send_task(),
                        link_secret_policy(),
                        // Only as the configured sender (an address or domain identity).
                        json!({
                            "PolicyName": "notify-by-email",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [{
                                    "Effect": "Allow",
                                    "Action": ["ses:SendEmail"],
                                    "Resource": { "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*" },
                                    "Condition": { "StringEquals": { "ses:FromAddress": { "Ref": "ApprovalEmailFrom" } } },
                                }],
                            },
                        }),
                    ],
                )
            }
        };
        policies.push(logs_policy(&platform.function_name));
        resources.insert(format!("Role{id}"), lambda_role(policies));
        resources.insert(
            format!("Fn{id}"),
            function(
                &platform.function_name,
                platform.role,
                // The API's log search reads every agent's log group.
                if platform.function == Platform::Api {
                    60
                } else {
                    30
                },
                &format!("Role{id}"),
                description,
                extra,
            ),
        );
        if let Some(output) = match platform.function {
            Platform::ApprovalCallback => Some("ApprovalCallbackUrl"),
            Platform::Api => Some("ApiUrl"),
            Platform::RunTracker | Platform::ApprovalRequest => None,
        } {
            // A flood on a public URL must not take the concurrency the agents need.
            if let Some(function) = resources
                .get_mut(&format!("Fn{id}"))
                .and_then(|f| f.get_mut("Properties"))
                .and_then(Value::as_object_mut)
            {
                function.insert(
                    "ReservedConcurrentExecutions".into(),
                    json!({ "Fn::If": ["LimitPublicConcurrency", { "Ref": "PublicFunctionConcurrency" }, { "Ref": "AWS::NoValue" }] }),
                );
            }
            // Public URLs: approvers click links from anywhere (each request is authenticated
            // by its link's signature), and API clients present a tenant key the API checks.
            resources.insert(
                format!("Url{id}"),
                json!({
                    "Type": "AWS::Lambda::Url",
                    "Properties": { "TargetFunctionArn": { "Fn::GetAtt": [format!("Fn{id}"), "Arn"] }, "AuthType": "NONE" },
                }),
            );
            resources.insert(
                format!("UrlPermission{id}"),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": { "Ref": format!("Fn{id}") },
                        "Action": "lambda:InvokeFunctionUrl",
                        "Principal": "*",
                        "FunctionUrlAuthType": "NONE",
                    },
                }),
            );
            outputs.insert(
                output.into(),
                json!({ "Value": { "Fn::GetAtt": [format!("Url{id}"), "FunctionUrl"] } }),
            );
        }
        if platform.function == Platform::Api {
            // The reconciler: records the end of runs whose executions ended outside their
            // state machine (stopped from the console, timed out as a whole).
            resources.insert(
                RECONCILE_SCHEDULE.into(),
                json!({
                    "Type": "AWS::Events::Rule",
                    "Properties": {
                        "Description": "Switchyard: reconcile run records with ended executions",
                        "ScheduleExpression": RECONCILE_RATE,
                        "State": "ENABLED",
                        "Targets": [{ "Id": "reconciler", "Arn": { "Fn::GetAtt": [format!("Fn{id}"), "Arn"] } }],
                    },
                }),
            );
            resources.insert(
                format!("{RECONCILE_SCHEDULE}Permission"),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": { "Ref": format!("Fn{id}") },
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": { "Fn::GetAtt": [RECONCILE_SCHEDULE, "Arn"] },
                    },
                }),
            );
        }
    }
    for machine in &manifest.state_machines {
        let id = pascal_case(machine.workflow);
        let definition = definitions
            .iter()
            .find(|(name, _)| name == machine.workflow)
            .map(|(_, asl)| asl.as_str())
            .unwrap_or_default();
        let mut substitutions = Map::new();
        let mut invocable = Vec::new();
        for key in &machine.substitutions {
            let function = function_logical_id(manifest, key);
            substitutions.insert(key.clone(), json!({ "Fn::GetAtt": [function, "Arn"] }));
            invocable.push(json!({ "Fn::GetAtt": [function, "Arn"] }));
        }
        resources.insert(
            format!("StateMachineRole{id}"),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": assume("states.amazonaws.com"),
                    "Policies": [{
                        "PolicyName": "invoke-own-functions",
                        "PolicyDocument": statement(json!(["lambda:InvokeFunction"]), json!(invocable)),
                    }],
                },
            }),
        );
        resources.insert(
            format!("StateMachine{id}"),
            json!({
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": machine.name,
                    "StateMachineType": "STANDARD",
                    "DefinitionString": compact(definition),
                    "DefinitionSubstitutions": substitutions,
                    "RoleArn": { "Fn::GetAtt": [format!("StateMachineRole{id}"), "Arn"] },
                },
            }),
        );
        outputs.insert(
            format!("StateMachine{id}"),
            json!({ "Description": machine.workflow, "Value": { "Ref": format!("StateMachine{id}") } }),
        );
    }
    // Every run's end reaches the run-tracker as a Step Functions status-change event: no
    // state in any definition records it. The start is the Run API's own write when it
    // starts the execution, so the rule leaves RUNNING out: half the tracker's invocations,
    // none of them racing the run's first steps for the platform's time.
    if let Some(tracker) = manifest
        .platform_functions
        .iter()
        .find(|p| p.function == Platform::RunTracker)
    {
        let tracker = format!("Fn{}", pascal_case(tracker.role));
        let mut machines: Vec<Value> = manifest
            .state_machines
            .iter()
            .map(|m| json!({ "Ref": format!("StateMachine{}", pascal_case(m.workflow)) }))
            .collect();
        // And every state machine built from a graph, by its name's prefix.
        machines.push(json!({ "prefix": { "Fn::Sub": format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{RESOURCE_PREFIX}{GRAPH_WORKFLOW_PREFIX}") } }));
        resources.insert(
            RUN_STATUS_EVENTS.into(),
            json!({
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Description": "Switchyard: record runs from their executions' status changes",
                    "EventPattern": {
                        "source": ["aws.states"],
                        "detail-type": ["Step Functions Execution Status Change"],
                        "detail": {
                            "stateMachineArn": machines,
                            "status": RUN_END_STATUSES,
                        },
                    },
                    "State": "ENABLED",
                    "Targets": [{ "Id": "run-tracker", "Arn": { "Fn::GetAtt": [tracker.clone(), "Arn"] } }],
                },
            }),
        );
        resources.insert(
            format!("{RUN_STATUS_EVENTS}Permission"),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": { "Ref": tracker },
                    "Action": "lambda:InvokeFunction",
                    "Principal": "events.amazonaws.com",
                    "SourceArn": { "Fn::GetAtt": [RUN_STATUS_EVENTS, "Arn"] },
                },
            }),
        );
    }
    resources.insert(DASHBOARD.into(), dashboard());
    outputs.insert(
        LINK_SECRET_PARAMETER.into(),
        json!({ "Description": "SSM parameter holding the approval link secret (its name only)", "Value": { "Ref": LINK_SECRET_PARAMETER } }),
    );
    outputs.insert(
        GRAPH_ROLE.into(),
        json!({ "Description": "The role of state machines built from graphs at run time", "Value": { "Fn::GetAtt": [GRAPH_ROLE, "Arn"] } }),
    );
    for table in Table::ALL {
        let logical = table.spec().logical_id;
        outputs.insert(logical.into(), json!({ "Value": table_name_of(table) }));
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Switchyard: agent functions, approval gates and workflow state machines (generated by `cargo run -p compiler`; do not edit)",
        "Parameters": {
            "CodeBucket": { "Type": "String", "Description": "S3 bucket holding the bootstrap zip" },
            "CodeKey": { "Type": "String", "Description": "S3 key of the bootstrap zip" },
            "AppEnvironment": { "Type": "String", "AllowedValues": ["development", "production"], "Default": "production" },
            "AutoApproveInDev": { "Type": "String", "AllowedValues": ["true", "false"], "Default": "false" },
            "DynamoDbEndpoint": { "Type": "String", "Default": "", "Description": "DynamoDB endpoint for DynamoDB Local; empty on AWS" },
            "ManageTables": { "Type": "String", "AllowedValues": ["true", "false"], "Default": "true", "Description": "false when the tables live outside the stack (DynamoDB Local)" },
            "TablePrefix": { "Type": "String", "Default": "switchyard-" },
            LINK_SECRET_PARAMETER: { "Type": "String", "Default": "/switchyard/approval-link-secret", "AllowedPattern": "^(/[A-Za-z0-9_.-]+)+$", "Description": "Name (not value) of the SSM Parameter Store SecureString holding the approval links' HMAC key(s), newest first, comma-separated; infra/deploy writes it, the approval functions read it at cold start" },
            LINK_SECRET_VERSION: { "Type": "String", "Default": "", "Description": "Version of that parameter; a new one (a rotation) restarts the approval functions so they read it again" },
            "ApprovalWebhookUrl": { "Type": "String", "Default": "", "Description": "Slack-compatible webhook notified of approval requests; empty for none" },
            "ApprovalEmailFrom": { "Type": "String", "Default": "", "Description": "SES-verified sender of approval emails; empty for no email" },
            "ApprovalEmailTo": { "Type": "String", "Default": "", "Description": "Comma-separated recipients for gates without designated approvers" },
            "PublicFunctionConcurrency": { "Type": "Number", "Default": 10, "MinValue": 0, "Description": "Reserved (and maximum) concurrency of each public Function URL function (approval callback, API); 0 leaves them unreserved, for accounts whose concurrency quota cannot spare any" },
            "PrimaryModel": { "Type": "String", "Default": "embedded", "Description": "provider:model for every agent, e.g. bedrock:amazon.nova-lite-v1:0; embedded is the offline deterministic model" },
            "TraceRedact": { "Type": "String", "Default": "", "Description": "Comma-separated literal strings the agents replace by [redacted] in conversation traces, besides the provider keys' values (TRACE_REDACT of the agent functions; visible like any parameter, so strings to keep out of stored traces, not credentials)" },
        },
        "Conditions": {
            "CreateTables": { "Fn::Equals": [{ "Ref": "ManageTables" }, "true"] },
            "CustomDynamoDbEndpoint": { "Fn::Not": [{ "Fn::Equals": [{ "Ref": "DynamoDbEndpoint" }, ""] }] },
            ON_AWS: { "Fn::Equals": [{ "Ref": "DynamoDbEndpoint" }, ""] },
            "LimitPublicConcurrency": { "Fn::Not": [{ "Fn::Equals": [{ "Ref": "PublicFunctionConcurrency" }, "0"] }] },
        },
        "Resources": resources,
        "Outputs": outputs,
    });
    if let Some(parameters) = template["Parameters"].as_object_mut() {
        for agent in &manifest.agents {
            parameters.insert(agent.model_parameter.clone(), agent_model_parameter(agent));
        }
    }
    template
}

/// The parameter choosing one agent's model at deploy time (`infra/deploy` fills it from
/// the agent's `SWITCHYARD_MODEL_<NAME>`), checked by the model-name rule's shape.
fn agent_model_parameter(agent: &crate::manifest::AgentFunction<'_>) -> Value {
    let declared = match agent.model {
        Some(model) => format!("its declared {model}"),
        None => "PrimaryModel".to_owned(),
    };
    let providers = switchyard_ir::MODEL_PROVIDERS
        .iter()
        .filter(|p| **p != "embedded")
        .copied()
        .collect::<Vec<_>>()
        .join("|");
    json!({
        "Type": "String",
        "Default": "",
        "AllowedPattern": format!("^(|embedded(:{})?|({providers}):.+)$", switchyard_ir::EMBEDDED_VARIANT),
        "ConstraintDescription": "provider:model (embedded, openai:<model>, anthropic:<model>, bedrock:<model id>), or empty",
        "Description": format!("provider:model for agent {} (deploy: {}); empty asks {declared}", agent.agent, agent.model_variable),
    })
}

/// Template parameter naming the SSM parameter that holds the approval link secret(s).
const LINK_SECRET_PARAMETER: &str = "ApprovalLinkSecretParameter";
/// Template parameter carrying that SSM parameter's version (not its value).
const LINK_SECRET_VERSION: &str = "ApprovalLinkSecretVersion";

/// The functions that sign or verify approval links get the secret's parameter *name* (and
/// version, so a rotation changes their configuration and they start afresh); the value
/// stays in Parameter Store and is read at cold start.
fn link_secret_variables(variables: &mut Map<String, Value>) {
    variables.insert(
        env::APPROVAL_LINK_SECRET_PARAMETER.into(),
        json!({ "Ref": LINK_SECRET_PARAMETER }),
    );
    variables.insert(
        env::APPROVAL_LINK_SECRET_VERSION.into(),
        json!({ "Ref": LINK_SECRET_VERSION }),
    );
}

/// Reading that one parameter, nothing else. No `kms:Decrypt`: a SecureString under the
/// AWS-managed `aws/ssm` key is decrypted by SSM on the caller's behalf, and that key's
/// policy already allows it for any principal of the account allowed `ssm:GetParameter`
/// (a customer-managed key would need `kms:Decrypt` on that key here).
fn link_secret_policy() -> Value {
    json!({
        "PolicyName": "read-link-secret",
        "PolicyDocument": statement(
            json!(["ssm:GetParameter"]),
            // Parameter names start with `/` (the AllowedPattern), so this is `parameter/...`.
            json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{LINK_SECRET_PARAMETER}}}") }),
        ),
    })
}

/// The CloudWatch dashboard of the metrics the functions emit, three graphs a row.
fn dashboard() -> Value {
    const WIDTH: usize = 8;
    const HEIGHT: usize = 6;
    let widgets: Vec<Value> = DASHBOARD_GRAPHS
        .iter()
        .enumerate()
        .map(|(i, (title, dimensions, metric, stat))| {
            let schema = [metrics::NAMESPACE]
                .iter()
                .chain(dimensions.iter())
                .copied()
                .collect::<Vec<_>>()
                .join(",");
            let search = format!(
                "SEARCH('{{{schema}}} MetricName=\"{}\"', '{stat}', {DASHBOARD_PERIOD})",
                metric.name
            );
            json!({
                "type": "metric",
                "x": (i % 3) * WIDTH,
                "y": (i / 3) * HEIGHT,
                "width": WIDTH,
                "height": HEIGHT,
                "properties": {
                    "title": title,
                    "region": "${AWS::Region}",
                    "view": "timeSeries",
                    "stat": stat,
                    "period": DASHBOARD_PERIOD,
                    "metrics": [[{ "expression": search, "id": "lines" }]],
                },
            })
        })
        .collect();
    json!({
        "Type": "AWS::CloudWatch::Dashboard",
        "Condition": ON_AWS,
        "Properties": {
            "DashboardName": { "Ref": "AWS::StackName" },
            "DashboardBody": { "Fn::Sub": json!({ "widgets": widgets }).to_string() },
        },
    })
}

fn function_logical_id(manifest: &Manifest<'_>, substitution: &str) -> String {
    if let Some(agent) = manifest
        .agents
        .iter()
        .find(|a| a.substitution == substitution)
    {
        return format!("Fn{}", pascal_case(agent.agent));
    }
    manifest
        .platform_functions
        .iter()
        .find(|p| p.substitution == Some(substitution))
        .map(|p| format!("Fn{}", pascal_case(p.role)))
        .unwrap_or_default()
}

fn compact(definition: &str) -> String {
    serde_json::from_str::<Value>(definition)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn table_name_of(table: Table) -> Value {
    json!({ "Fn::Sub": format!("${{TablePrefix}}{}", table.spec().suffix) })
}

/// A key schema and the definitions of its attributes.
fn key_schema(hash: Key, range: Option<Key>) -> (Vec<Value>, Vec<Value>) {
    let mut keys = vec![json!({ "AttributeName": hash.name, "KeyType": "HASH" })];
    let mut attributes =
        vec![json!({ "AttributeName": hash.name, "AttributeType": hash.kind.as_str() })];
    if let Some(range) = range {
        keys.push(json!({ "AttributeName": range.name, "KeyType": "RANGE" }));
        attributes
            .push(json!({ "AttributeName": range.name, "AttributeType": range.kind.as_str() }));
    }
    (keys, attributes)
}

fn table_resource(spec: &TableSpec) -> Value {
    let suffix = spec.suffix;
    let (keys, attributes) = key_schema(spec.hash, spec.range);
    let mut table = json!({
        "Type": "AWS::DynamoDB::Table",
        "Condition": "CreateTables",
        "Properties": {
            "TableName": { "Fn::Sub": format!("${{TablePrefix}}{suffix}") },
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": keys,
            "AttributeDefinitions": attributes,
        },
    });
    let indexes: Vec<Value> = spec
        .indexes
        .iter()
        .map(|index| {
            let (keys, defined) = key_schema(index.hash, index.range);
            let attributes = table["Properties"]["AttributeDefinitions"]
                .as_array_mut()
                .expect("built above as an array");
            for attribute in defined {
                if !attributes.contains(&attribute) {
                    attributes.push(attribute);
                }
            }
            json!({ "IndexName": index.name, "KeySchema": keys, "Projection": { "ProjectionType": index.projection.as_str() } })
        })
        .collect();
    if !indexes.is_empty() {
        table["Properties"]["GlobalSecondaryIndexes"] = json!(indexes);
    }
    if let Some(attribute) = spec.ttl {
        table["Properties"]["TimeToLiveSpecification"] =
            json!({ "AttributeName": attribute, "Enabled": true });
    }
    table
}

fn function(
    name: &str,
    serves: &str,
    timeout: u32,
    role: &str,
    description: &str,
    extra: Map<String, Value>,
) -> Value {
    let mut variables = extra;
    variables.insert(env::FUNCTION.into(), json!(serves));
    variables.insert(
        env::APP_ENVIRONMENT.into(),
        json!({ "Ref": "AppEnvironment" }),
    );
    variables.insert(
        env::AUTO_APPROVE_IN_DEV.into(),
        json!({ "Ref": "AutoApproveInDev" }),
    );
    variables.insert("RUST_LOG".into(), json!("info"));
    variables.insert(env::PAYLOAD_BUCKET.into(), json!({ "Ref": PAYLOAD_BUCKET }));
    variables.insert(env::PRIMARY_MODEL.into(), json!({ "Ref": "PrimaryModel" }));
    for table in Table::ALL {
        variables.insert(table.spec().env_var.into(), table_name_of(table));
    }
    let mut local = variables.clone();
    local.insert(
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        json!({ "Ref": "DynamoDbEndpoint" }),
    );
    let description: String = description.chars().take(256).collect();
    json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Description": description,
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": ["x86_64"],
            "MemorySize": FUNCTION_MEMORY_MB,
            "Timeout": timeout,
            "Role": { "Fn::GetAtt": [role, "Arn"] },
            "Code": { "S3Bucket": { "Ref": "CodeBucket" }, "S3Key": { "Ref": "CodeKey" } },
            "Environment": {
                "Variables": { "Fn::If": ["CustomDynamoDbEndpoint", local, variables] },
            },
        },
    })
}

fn assume(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }],
    })
}

fn statement(actions: Value, resources: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": resources }],
    })
}

fn lambda_role(policies: Vec<Value>) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": assume("lambda.amazonaws.com"),
            "Policies": policies,
        },
    })
}

fn logs_policy(function_name: &str) -> Value {
    json!({
        "PolicyName": "own-logs",
        "PolicyDocument": statement(
            json!(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]),
            json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{function_name}:*") }),
        ),
    })
}

fn dynamodb_policy(tables: &[Table], actions: &[&str]) -> Value {
    let suffixes: Vec<&str> = tables.iter().map(|t| t.spec().suffix).collect();
    // The tables and their indexes.
    let resources: Vec<Value> = suffixes
        .iter()
        .flat_map(|suffix| {
            let table = format!("arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{TablePrefix}}{suffix}");
            [json!({ "Fn::Sub": table.clone() }), json!({ "Fn::Sub": format!("{table}/index/*") })]
        })
        .collect();
    json!({
        "PolicyName": format!("dynamodb-{}", suffixes.join("-")),
        "PolicyDocument": statement(json!(actions), json!(resources)),
    })
}

/// The offloaded conversation traces in the payload bucket.
fn traces_arn() -> Value {
    json!({
        "Fn::Sub": format!(
            "arn:${{AWS::Partition}}:s3:::{}/{}*",
            payload_bucket_pattern(),
            switchyard_state::trace::TRACE_PREFIX
        )
    })
}

fn payload_bucket_pattern() -> &'static str {
    "switchyard-payloads-${AWS::AccountId}-${AWS::Region}"
}

fn payload_bucket_name() -> Value {
    json!({ "Fn::Sub": payload_bucket_pattern() })
}
