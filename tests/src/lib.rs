//! Harness for the end-to-end tests: reads what `infra/deploy --target local` wrote, talks
//! to the live LocalStack and DynamoDB Local, starts executions and waits for them.
//!
//! If the stack is not up or not deployed, every test fails with how to fix it: an
//! end-to-end suite that skips itself silently proves nothing.

pub mod browser;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub region: String,
    pub endpoints: Endpoints,
    pub state_machines: BTreeMap<String, String>,
    pub tables: BTreeMap<String, String>,
    pub approval_callback_url: Option<String>,
    pub payload_bucket: Option<String>,
    /// The SSM parameter holding the link secret (older deployment files lack it).
    pub approval_link_secret_parameter: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Endpoints {
    pub aws: Option<String>,
    pub dynamodb: Option<String>,
}

const HOW_TO_START: &str = "start and deploy the local stack first: `infra/local-up && infra/deploy --target local --auto-approve` (or run the whole suite with `tests/run`)";

pub fn deployment() -> Deployment {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/deployed-local.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}): {HOW_TO_START}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a deployment file: {e}", path.display()))
}

pub struct Stack {
    pub deployment: Deployment,
    pub sfn: aws_sdk_sfn::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The deployment's tables, through the state crate (the only code that names them).
    pub state: switchyard_state::State,
    pub s3: aws_sdk_s3::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Stack {
    pub async fn connect() -> Stack {
        let deployment = deployment();
        let aws = deployment
            .endpoints
            .aws
            .clone()
            .unwrap_or_else(|| "http://localhost:4566".into());
        let dynamodb = deployment
            .endpoints
            .dynamodb
            .clone()
            .unwrap_or_else(|| "http://localhost:8000".into());
        let credentials =
            aws_sdk_sfn::config::Credentials::new("test", "test", None, None, "switchyard-e2e");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(deployment.region.clone()))
            .credentials_provider(credentials)
            .load()
            .await;
        let sfn_config = aws_sdk_sfn::config::Builder::from(&config)
            .endpoint_url(&aws)
            .build();
        let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&config)
            .endpoint_url(&dynamodb)
            .build();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .endpoint_url(&aws)
            .force_path_style(true)
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config);
        let names = switchyard_state::TableNames::from_lookup(|table| {
            deployment.tables.get(table.key()).cloned()
        })
        .unwrap_or_else(|e| panic!("{e}: {HOW_TO_START}"));
        let lambda_config = aws_sdk_lambda::config::Builder::from(&config)
            .endpoint_url(&aws)
            .build();
        let ssm_config = aws_sdk_ssm::config::Builder::from(&config)
            .endpoint_url(&aws)
            .build();
        let stack = Stack {
            lambda: aws_sdk_lambda::Client::from_conf(lambda_config),
            ssm: aws_sdk_ssm::Client::from_conf(ssm_config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sfn: aws_sdk_sfn::Client::from_conf(sfn_config),
            state: switchyard_state::State::new(dynamodb.clone(), names),
            dynamodb,
            deployment,
        };
        if let Err(e) = stack.sfn.list_state_machines().max_results(1).send().await {
            panic!(
                "LocalStack at {aws} does not answer ({}): {HOW_TO_START}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            );
        }
        stack
    }

    pub fn state_machine(&self, workflow: &str) -> &str {
        self.deployment
            .state_machines
            .get(workflow)
            .unwrap_or_else(|| {
                panic!(
                    "workflow {workflow} is not deployed; deployed: {:?}",
                    self.deployment.state_machines.keys()
                )
            })
    }

    /// Starts a run with the envelope the Run API sends (`switchyard_state::ExecutionInput`).
    pub async fn start(&self, workflow: &str, tenant: &str, input: Value) -> String {
        let envelope = switchyard_state::ExecutionInput::new(tenant, input);
        self.start_with(workflow, serde_json::json!(envelope)).await
    }

    /// Starts a run that waits for people at its gates (no dev auto-approval).
    pub async fn start_gated(&self, workflow: &str, tenant: &str, input: Value) -> String {
        let mut envelope = switchyard_state::ExecutionInput::new(tenant, input);
        envelope.auto_approve = Some(false);
        self.start_with(workflow, serde_json::json!(envelope)).await
    }

    async fn start_with(&self, workflow: &str, body: Value) -> String {
        let started = self
            .sfn
            .start_execution()
            .state_machine_arn(self.state_machine(workflow))
            .input(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "start {workflow}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            });
        started.execution_arn().to_owned()
    }

    /// Waits for the execution to leave RUNNING (up to `limit`), and for the run-tracker to
    /// record its end from the status-change event (up to 20 s more), returning its final
    /// state.
    pub async fn wait(&self, execution: &str, limit: Duration) -> Finished {
        let finished = self.wait_execution(execution, limit).await;
        self.wait_recorded(run_id(execution)).await;
        finished
    }

    /// Waits for the run's record to leave `running`: the execution's end event reached the
    /// run-tracker.
    pub async fn wait_recorded(&self, run_id: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let run = self.state.runs().get(run_id).await;
            match run {
                Ok(Some(run)) if run.status.is_finished() => return,
                _ if tokio::time::Instant::now() > deadline => panic!(
                    "run {run_id} ended but its record still says {:?} after 20 s: did the \
                     execution's status-change event reach the run-tracker?",
                    run.map(|r| r.map(|r| r.status))
                ),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits for the execution to leave RUNNING (up to `limit`).
    pub async fn wait_execution(&self, execution: &str, limit: Duration) -> Finished {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let described = self
                .sfn
                .describe_execution()
                .execution_arn(execution)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "describe {execution}: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(e)
                    )
                });
            if described.status() != &ExecutionStatus::Running {
                let history = self.history(execution).await;
                return Finished {
                    status: described.status().clone(),
                    output: described
                        .output()
                        .and_then(|o| serde_json::from_str(o).ok()),
                    error: described.error().map(str::to_owned),
                    history,
                };
            }
            if tokio::time::Instant::now() > deadline {
                let history = self.history(execution).await;
                panic!(
                    "{execution} still RUNNING after {limit:?}; last events: {:#?}",
                    history.iter().rev().take(5).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn history(&self, execution: &str) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution)
                .set_next_token(token)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "history of {execution}: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(e)
                    )
                });
            events.extend(page.events().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return events;
            }
        }
    }
}

#[derive(Debug)]
pub struct Finished {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub history: Vec<HistoryEvent>,
}

impl Finished {
    /// Asserts SUCCEEDED, showing the failure and last events otherwise.
    pub fn succeeded(&self) -> &Value {
        assert_eq!(
            self.status,
            ExecutionStatus::Succeeded,
            "error: {:?}; last events: {:#?}",
            self.error,
            self.history.iter().rev().take(6).collect::<Vec<_>>()
        );
        self.output
            .as_ref()
            .expect("a succeeded execution has output")
    }

    /// Names of the states entered, in order.
    pub fn entered(&self) -> Vec<String> {
        self.history
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_owned())
            .collect()
    }

    /// Error names of failed Lambda task attempts, in order.
    pub fn task_errors(&self) -> Vec<String> {
        self.history
            .iter()
            .filter_map(|e| e.lambda_function_failed_event_details())
            .filter_map(|d| d.error().map(str::to_owned))
            .collect()
    }
}

/// A DynamoDB item as plain JSON-ish strings and numbers, for assertions.
/// A record as JSON, for tests that look at a few fields.
pub type Record = BTreeMap<String, Value>;

fn record(value: &impl serde::Serialize) -> Record {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

impl Stack {
    /// The run's record in the runs table.
    pub async fn run_record(&self, run_id: &str) -> Option<Record> {
        self.state
            .runs()
            .get(run_id)
            .await
            .unwrap_or_else(|e| panic!("get run {run_id}: {e}"))
            .map(|run| record(&run))
    }

    /// Checks the run's step records against its execution history: every agent
    /// invocation that ended (succeeded, or failed other than by finding its run paused)
    /// has one finished record of its own, each with a distinct key, and each state's
    /// count matches. Returns the records.
    pub async fn assert_attempts_recorded(
        &self,
        execution: &str,
        finished: &Finished,
    ) -> Vec<Record> {
        let ended = finished
            .history
            .iter()
            .filter(|e| {
                e.lambda_function_succeeded_event_details().is_some()
                    || e.lambda_function_failed_event_details()
                        .is_some_and(|d| d.error() != Some(switchyard_state::schema::PAUSED_ERROR))
            })
            .count();
        let records = self.step_records(run_id(execution)).await;
        let finished_records: Vec<&Record> = records
            .iter()
            .filter(|r| r.get("finished_at").is_some_and(|v| !v.is_null()))
            .collect();
        let keys: std::collections::BTreeSet<String> = records
            .iter()
            .filter_map(|r| r.get("step_key"))
            .map(Value::to_string)
            .collect();
        assert_eq!(keys.len(), records.len(), "step keys repeat: {records:#?}");
        assert_eq!(
            finished_records.len(),
            ended,
            "{ended} agent invocations ended in the history, {} finished step records: {:#?}",
            finished_records.len(),
            records
                .iter()
                .map(|r| (&r["step_key"], &r["status"]))
                .collect::<Vec<_>>()
        );
        records
    }

    /// Every step attempt recorded for the run, by step key.
    pub async fn step_records(&self, run_id: &str) -> Vec<Record> {
        let mut steps = self
            .state
            .steps()
            .of_run(run_id)
            .await
            .unwrap_or_else(|e| panic!("query steps of {run_id}: {e}"));
        steps.sort_by(|a, b| a.step_key.cmp(&b.step_key));
        steps.iter().map(record).collect()
    }
}

impl Stack {
    /// The approval requests of a run, as stored.
    pub async fn approvals(&self, run_id: &str) -> Vec<Record> {
        self.state
            .approvals()
            .of_run(run_id)
            .await
            .unwrap_or_else(|e| panic!("approvals of {run_id}: {e}"))
            .iter()
            .map(record)
            .collect()
    }

    /// The task tokens of a run's approval requests (the API never shows them).
    pub async fn task_tokens(&self, run_id: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        for approval in self.approvals(run_id).await {
            let Some(id) = approval.get("request_id").and_then(Value::as_str) else {
                continue;
            };
            if let Ok(Some(stored)) = self.state.approvals().get(id).await {
                tokens.push(stored.task_token);
            }
        }
        tokens
    }

    /// Waits for a pending approval request at `gate` and returns it.
    pub async fn pending_approval(&self, run_id: &str, gate: &str) -> Record {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = self
                .approvals(run_id)
                .await
                .into_iter()
                .find(|a| a["gate"] == gate && a["status"] == "pending")
            {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pending approval at {gate} for {run_id}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The status of the execution right now.
    pub async fn status(&self, execution: &str) -> ExecutionStatus {
        self.sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map(|d| d.status().clone())
            .unwrap_or_else(|e| {
                panic!(
                    "describe {execution}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })
    }
}

/// An HTTP client that reaches LocalStack's Function URLs (`<id>.lambda-url.<region>.localhost`)
/// on 127.0.0.1, whatever the resolver makes of `.localhost` names.
pub fn function_url_client(url: &str) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Ok(parsed) = reqwest::Url::parse(url) {
        if let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) {
            if host.ends_with(".localhost") {
                builder = builder.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            }
        }
    }
    builder.build().expect("an HTTP client builds")
}

/// The approval link secret the local deployment signs with (the newest, when the file lists
/// several after a rotation), to forge links in tests. infra/deploy keeps the file equal to
/// the SSM parameter the functions read.
pub fn link_secret() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/approval-link-secret");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): {HOW_TO_START}", path.display()));
    text.split(',').next().unwrap_or_default().trim().to_owned()
}

/// Name of the SSM parameter holding the link secret(s), as infra/deploy names it by default.
pub const LINK_SECRET_PARAMETER: &str = "/switchyard/approval-link-secret";

impl Stack {
    /// The name of the SSM parameter holding the link secret(s), as deployed.
    pub fn link_secret_parameter_name(&self) -> &str {
        self.deployment
            .approval_link_secret_parameter
            .as_deref()
            .unwrap_or(LINK_SECRET_PARAMETER)
    }

    /// The link secret parameter's value (decrypted) and version.
    pub async fn link_secret_parameter(&self) -> (String, i64) {
        let name = self.link_secret_parameter_name();
        let got = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "SSM parameter {name}: {}: {HOW_TO_START}",
                    aws_sdk_ssm::error::DisplayErrorContext(e)
                )
            });
        let parameter = got.parameter().expect("GetParameter returns the parameter");
        (
            parameter.value().unwrap_or_default().to_owned(),
            parameter.version(),
        )
    }

    /// The names of the stack's functions (`switchyard-*`).
    pub async fn function_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .lambda
                .list_functions()
                .set_marker(marker)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "list functions: {}",
                        aws_sdk_lambda::error::DisplayErrorContext(e)
                    )
                });
            names.extend(
                page.functions()
                    .iter()
                    .filter_map(|f| f.function_name())
                    .filter(|n| n.starts_with("switchyard-"))
                    .map(str::to_owned),
            );
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                return names;
            }
        }
    }

    /// A function's environment variables as deployed (GetFunctionConfiguration).
    pub async fn function_environment(&self, name: &str) -> BTreeMap<String, String> {
        let config = self
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "configuration of {name}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            });
        config
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

impl Stack {
    /// The emails LocalStack's SES accepted (its `/_aws/ses` inspection endpoint).
    pub async fn ses_messages(&self) -> Vec<Value> {
        let aws = self
            .deployment
            .endpoints
            .aws
            .clone()
            .unwrap_or_else(|| "http://localhost:4566".into());
        let body: Value = reqwest::get(format!("{aws}/_aws/ses"))
            .await
            .expect("LocalStack answers")
            .json()
            .await
            .expect("SES inspection answers JSON");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// The messages the run's agents sent, as recorded in its outbox.
    pub async fn outbox(&self, run_id: &str) -> Vec<Value> {
        let bucket = self
            .deployment
            .payload_bucket
            .clone()
            .expect("deployment has the payload bucket");
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(format!("outbox/{run_id}/"))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "outbox of {run_id}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
        let mut messages = Vec::new();
        for object in listed.contents() {
            let key = object.key().unwrap_or_default();
            let body = self
                .s3
                .get_object()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .expect("object")
                .body
                .collect()
                .await
                .expect("body");
            messages.push(
                serde_json::from_slice(&body.into_bytes()).expect("a recorded message is JSON"),
            );
        }
        messages
    }
}

/// The run id of an execution: its name, the last segment of its ARN.
pub fn run_id(execution_arn: &str) -> &str {
    execution_arn.rsplit(':').next().unwrap_or(execution_arn)
}

fn cache_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache")
        .join(name)
}

/// The run API's Function URL (`api_url` in `.cache/deployed-local.json`), without the
/// trailing `/`.
pub fn api_url() -> String {
    let path = cache_file("deployed-local.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}): {HOW_TO_START}", path.display()));
    let deployed: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a deployment file: {e}", path.display()));
    deployed["api_url"]
        .as_str()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{} has no api_url: the API function is not deployed; {HOW_TO_START}",
                path.display()
            )
        })
        .trim_end_matches('/')
        .to_owned()
}

/// The API key the deploy saved for its default tenant (`demo`), `.cache/api-key-local`.
pub fn saved_api_key() -> String {
    let path = cache_file("api-key-local");
    let key = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): {HOW_TO_START}", path.display()));
    let key = key.trim();
    assert!(
        !key.is_empty(),
        "{} is empty: {HOW_TO_START}",
        path.display()
    );
    key.to_owned()
}

/// A new API key for `tenant`, made the one way keys are made: `switchyard tenants
/// create-key` (the dev build `tests/run` and the deploy use, so it is normally built
/// already; `--bin` without `-p` keeps the workspace's feature set, so nothing is rebuilt).
pub fn create_api_key(tenant: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    // `cargo test` gives this process its package's CARGO_PKG_*, CARGO_MANIFEST_DIR, ...;
    // ring's build script reruns when those change, so a cargo that sees them rebuilds ring
    // and the AWS SDK on top of it (and the next plain build does so again).
    for (name, _) in std::env::vars_os() {
        let set_by_cargo_test = name.to_str().is_some_and(|name| {
            ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                ]
                .contains(&name)
        });
        if set_by_cargo_test {
            command.env_remove(&name);
        }
    }
    let output = command
        .args(["run", "--quiet", "--bin", "switchyard", "--"])
        .args([
            "--target",
            "local",
            "--json",
            "tenants",
            "create-key",
            "--tenant",
            tenant,
        ])
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running `switchyard tenants create-key`: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`switchyard tenants create-key --tenant {tenant}` failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("create-key --json printed no JSON ({e}): {stdout}"));
    assert_eq!(created["tenant_id"], tenant, "{created}");
    created["api_key"]
        .as_str()
        .unwrap_or_else(|| panic!("no api_key in {created}"))
        .to_owned()
}

/// A tenant's client of the deployed Run API: each call answers its status and JSON body
/// (every answer of the API has one).
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl ApiClient {
    /// A client with a new key of a new tenant named after `purpose` (so listings hold
    /// exactly what one test made).
    pub fn fresh_tenant(purpose: &str) -> ApiClient {
        let tenant = format!(
            "e2e-{purpose}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        ApiClient::with_key(&create_api_key(&tenant))
    }

    /// The API key this client sends.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn with_key(key: &str) -> ApiClient {
        let base = api_url();
        ApiClient {
            http: function_url_client(&base),
            base,
            key: key.to_owned(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .timeout(std::time::Duration::from_secs(60));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: the API does not answer: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path} answered {status} with no JSON ({e}): {text}"));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    /// Starts `workflow` with `input` (gates wait for a person); its run id.
    pub async fn start(&self, workflow: &str, input: Value) -> String {
        let (status, body) = self
            .post(
                "/runs/start",
                serde_json::json!({ "workflow": workflow, "input": input, "auto_approve": false }),
            )
            .await;
        assert_eq!(status, 202, "start {workflow}: {body}");
        body["run_id"].as_str().expect("a run id").to_owned()
    }

    /// The run's view (`GET /runs/{id}`).
    pub async fn run(&self, run_id: &str) -> Value {
        let (status, body) = self.get(&format!("/runs/{run_id}")).await;
        assert_eq!(status, 200, "read run {run_id}: {body}");
        body
    }

    /// Reads the run until `done` holds of its view (within `limit`); the view.
    pub async fn run_until(
        &self,
        run_id: &str,
        what: &str,
        limit: std::time::Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let run = self.run(run_id).await;
            if done(&run) {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run_id}: not {what} within {limit:?}: {run}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
