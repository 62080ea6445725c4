//! Attacks on the live local stack, each expected to be refused with nothing changed: forged
//! payload references (through the API and straight into Step Functions), claimed approver
//! identities, malformed decision bodies, links moved to another approver, and the pages'
//! security headers. The test ends by printing a table of every attack and its outcome.

use std::io::Write;
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use switchyard_api::keys::{hash_key, key_id, ApiKeys};
use switchyard_e2e::{
    api_url, function_url_client, link_secret, run_id, saved_api_key, Record, Stack,
};
use switchyard_lambda::approval::links::LinkSigner;

const LIMIT: Duration = Duration::from_secs(90);

/// One attack and what came of it.
struct Outcome {
    attack: &'static str,
    expected: &'static str,
    got: String,
    refused: bool,
}

#[derive(Default)]
struct Attacks(Vec<Outcome>);

impl Attacks {
    fn record(&mut self, attack: &'static str, expected: &'static str, got: String, refused: bool) {
        self.0.push(Outcome {
            attack,
            expected,
            got,
            refused,
        });
    }

    /// Prints the table straight to the terminal (past the test harness's capture), then
    /// fails if any attack got through.
    fn finish(self) {
        let mut table = String::from("\nsecurity: attacks tried against the local stack\n");
        table.push_str(&format!(
            "  {:<56} {:<36} {:<36} {}\n",
            "attack", "expected", "got", "refused"
        ));
        for o in &self.0 {
            table.push_str(&format!(
                "  {:<56} {:<36} {:<36} {}\n",
                o.attack,
                o.expected,
                o.got.chars().take(36).collect::<String>(),
                if o.refused { "yes" } else { "NO" }
            ));
        }
        let refused = self.0.iter().filter(|o| o.refused).count();
        table.push_str(&format!("  {refused} of {} refused\n", self.0.len()));
        let _ = std::io::stderr().write_all(table.as_bytes());
        let through: Vec<&str> = self
            .0
            .iter()
            .filter(|o| !o.refused)
            .map(|o| o.attack)
            .collect();
        assert!(through.is_empty(), "attacks that got through: {through:?}");
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn demo() -> Api {
        let base = api_url();
        Api {
            http: function_url_client(&base),
            base,
            key: saved_api_key(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

fn error_of(status: u16, body: &Value) -> String {
    format!(
        "{status} {} {}",
        body["error"].as_str().unwrap_or("-"),
        body["field"].as_str().unwrap_or("")
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Status, approver and decision of a request: what a refused attack must leave alone.
fn untouched(record: &Record) -> bool {
    record.get("status").and_then(Value::as_str) == Some("pending")
        && record.get("decided_by").is_none_or(Value::is_null)
        && record.get("decision").is_none_or(Value::is_null)
}

async fn current(stack: &Stack, run: &str, request_id: &str) -> Record {
    stack
        .approvals(run)
        .await
        .into_iter()
        .find(|a| a.get("request_id").and_then(Value::as_str) == Some(request_id))
        .expect("the request is still there")
}

async fn forged_payload_references(stack: &Stack, api: &Api, attacks: &mut Attacks) {
    let bucket = stack
        .deployment
        .payload_bucket
        .clone()
        .expect("the deployment has a payload bucket");
    // Another run's data, stored as the runtime would store it, digest and all.
    let victim = format!("runs/victim-{}/strategy-0.json", uuid::Uuid::new_v4());
    let secret = json!({ "fail_times": 0, "numbers": [4242] }).to_string();
    stack
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&victim)
        .body(secret.clone().into_bytes().into())
        .send()
        .await
        .expect("the victim's payload is stored");
    let reference = json!({
        "bucket": bucket, "key": victim, "bytes": secret.len(), "sha256": sha256_hex(secret.as_bytes()),
    });

    let (status, body) = api
        .post(
            "/runs/start",
            &json!({ "workflow": "self-test", "input": { "fail_times": 0, "numbers": [1], "$payload": reference } }),
        )
        .await;
    attacks.record(
        "API start with a $payload reference in the input",
        "400 bad_request input",
        error_of(status, &body),
        status == 400 && body["field"] == "input",
    );
    let (status, body) = api
        .post(
            "/runs/start",
            &json!({ "brand_id": "acme", "selected_month": "2024-11", "extra": [{ "$payload": reference }] }),
        )
        .await;
    attacks.record(
        "API start, campaign form, $payload nested in a list",
        "400 bad_request body",
        error_of(status, &body),
        status == 400 && body["field"] == "body",
    );

    // Past the API, straight into Step Functions: the runtime must not read it either.
    let execution = stack
        .start(
            "self-test",
            "tenant-security",
            json!({ "$payload": reference }),
        )
        .await;
    let finished = stack.wait(&execution, LIMIT).await;
    let leaked = finished
        .output
        .as_ref()
        .is_some_and(|o| o.to_string().contains("4242"));
    let errors = finished.task_errors();
    attacks.record(
        "execution input referencing another run's payload",
        "run fails Agent.InvalidInput",
        format!(
            "{:?} {}",
            finished.status,
            errors.first().map(String::as_str).unwrap_or("-")
        ),
        finished.status != ExecutionStatus::Succeeded
            && !leaked
            && errors.iter().any(|e| e == "Agent.InvalidInput"),
    );
}

async fn decisions(stack: &Stack, api: &Api, attacks: &mut Attacks) {
    let (status, started) = api
        .post(
            "/runs/start",
            &json!({
                "workflow": "campaign-creation",
                "input": { "brand_id": "acme", "selected_month": "2024-10" },
                "auto_approve": false,
            }),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let run = started["run_id"].as_str().expect("a run id").to_owned();
    let pending = stack.pending_approval(&run, "approve_strategy").await;
    let request_id = pending["request_id"].as_str().expect("id").to_owned();
    let link = pending["links"]["approve"]
        .as_str()
        .expect("a link")
        .to_owned();
    let links = function_url_client(&link);

    let (status, body) = api
        .post(
            "/approvals/submit",
            &json!({ "request_id": request_id, "decision": "approve", "approver": "cfo@acme.test" }),
        )
        .await;
    let record = current(stack, &run, &request_id).await;
    attacks.record(
        "API decision claiming an approver in the body",
        "400 approver, unchanged",
        error_of(status, &body),
        status == 400 && body["field"] == "approver" && untouched(&record),
    );

    let page = links
        .get(&link)
        .send()
        .await
        .expect("GET reaches the callback");
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    let (referrer, sniff) = (header("referrer-policy"), header("x-content-type-options"));
    attacks.record(
        "decision page without CSP/Referrer-Policy/nosniff",
        "all three headers",
        format!("csp={} ref={referrer} {sniff}", !csp.is_empty()),
        csp.contains("default-src 'none'") && referrer == "no-referrer" && sniff == "nosniff",
    );

    let malformed: [(&'static str, &str, &str); 3] = [
        (
            "link POST with malformed JSON",
            "application/json",
            "{\"approver\": \"cfo\"",
        ),
        (
            "link POST with a JSON list",
            "application/json",
            "[\"cfo@acme.test\"]",
        ),
        (
            "link POST form with the approver twice",
            "application/x-www-form-urlencoded",
            "approver=ada&approver=cfo%40acme.test",
        ),
    ];
    for (attack, content_type, body) in malformed {
        let response = links
            .post(&link)
            .header("accept", "application/json")
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("POST reaches the callback");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let record = current(stack, &run, &request_id).await;
        attacks.record(
            attack,
            "400 body, unchanged",
            error_of(status, &answer),
            status == 400 && answer["field"] == "body" && untouched(&record),
        );
    }

    let claimed = link.replacen("?decision=", "?approver=cfo%40acme.test&decision=", 1);
    let response = links
        .post(&claimed)
        .header("accept", "application/json")
        .form(&[("notes", "")])
        .send()
        .await
        .expect("POST reaches the callback");
    let status = response.status().as_u16();
    let record = current(stack, &run, &request_id).await;
    attacks.record(
        "shared link with an approver added to its query",
        "403 bad_signature, unchanged",
        status.to_string(),
        status == 403 && untouched(&record),
    );

    let response = links
        .post(&link)
        .header("accept", "application/json")
        .form(&[("approver", "cfo@acme.test"), ("notes", "")])
        .send()
        .await
        .expect("POST reaches the callback");
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    attacks.record(
        "typed CFO name on a shared link recorded as the CFO",
        "200, approver_verified false",
        format!("{status} verified={}", answer["approver_verified"]),
        status == 200 && answer["approver_verified"] == false,
    );
    let _ = api
        .call(reqwest::Method::DELETE, &format!("/runs/{run}"), None)
        .await;

    let (too_many, _) = api
        .call(
            reqwest::Method::GET,
            &format!("/runs/{run}/timeline?limit=100000"),
            None,
        )
        .await;
    let (status, page) = api
        .call(
            reqwest::Method::GET,
            &format!("/runs/{run}/timeline?limit=2"),
            None,
        )
        .await;
    let events = page["events"].as_array().map_or(0, Vec::len);
    attacks.record(
        "timeline read of unbounded size",
        "400 over 1000; pages with a cursor",
        format!("{too_many}; {status} {events} events"),
        too_many == 400 && status == 200 && events <= 2 && page["next_cursor"].is_string(),
    );
}

async fn designated_approvers(stack: &Stack, attacks: &mut Attacks) {
    let base = stack
        .deployment
        .approval_callback_url
        .clone()
        .expect("deployment has the callback URL");
    let signer = LinkSigner::new(link_secret().as_bytes(), &base).expect("secret is long enough");
    let client = function_url_client(&base);
    let execution = stack
        .start_gated(
            "enterprise-coordinator",
            "tenant-security",
            json!({
                "request_id": "R-SEC", "department": "ops", "requester": "ada",
                "items": [{ "description": "Forklift", "quantity": 1, "unit_price": 12000.0 }]
            }),
        )
        .await;
    let run = run_id(&execution).to_owned();
    let approval = stack.pending_approval(&run, "finance_approval").await;
    let request_id = approval["request_id"].as_str().expect("id").to_owned();
    let expires = approval["expires_at"].as_f64().expect("expiry") as u64;
    let post = |url: String, typed: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(url)
                .header("accept", "application/json")
                .form(&[("approver", typed)])
                .send()
                .await
                .expect("POST reaches the callback")
                .status()
                .as_u16()
        }
    };
    let shared = signer.link(&request_id, "approve", expires);
    let status = post(shared, "finance@switchyard.test").await;
    let record = current(stack, &run, &request_id).await;
    attacks.record(
        "designated gate: shared link, CFO's name typed",
        "403 not_an_approver, unchanged",
        status.to_string(),
        status == 403 && untouched(&record),
    );
    let theirs = signer.approver_link(&request_id, "approve", "finance@switchyard.test", expires);
    let moved = theirs.replace("finance%40switchyard.test", "mallory%40evil.test");
    let status = post(moved, "mallory@evil.test").await;
    let record = current(stack, &run, &request_id).await;
    attacks.record(
        "designated gate: approver's link moved to another name",
        "403 bad_signature, unchanged",
        status.to_string(),
        status == 403 && untouched(&record),
    );
    let _ = stack
        .sfn
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await;
}

async fn revoked_and_expired_keys(stack: &Stack, attacks: &mut Attacks) {
    let keys = ApiKeys::new(stack.state.clone());
    let tenant = format!(
        "e2e-sec-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let key = keys.create(&tenant).await.expect("a key");
    let api = Api {
        key: key.api_key.clone(),
        ..Api::demo()
    };
    // A listing, and a status read (which reads the key together with the run).
    let one_run = format!("/runs/{}", uuid::Uuid::new_v4());
    let (before, _) = api.call(reqwest::Method::GET, "/runs", None).await;
    let (before_one, _) = api.call(reqwest::Method::GET, &one_run, None).await;
    keys.revoke(&key_id(&hash_key(&key.api_key)))
        .await
        .expect("revoked");
    let (after, body) = api.call(reqwest::Method::GET, "/runs", None).await;
    let (after_one, body_one) = api.call(reqwest::Method::GET, &one_run, None).await;
    attacks.record(
        "a revoked API key",
        "401 unauthorized",
        format!(
            "before {before} and {before_one}, after {} and {}",
            error_of(after, &body),
            error_of(after_one, &body_one)
        ),
        before == 200 && before_one == 404 && after == 401 && after_one == 401,
    );
    let expired = keys
        .create_expiring(&tenant, Some(1))
        .await
        .expect("an expired key");
    let api = Api {
        key: expired.api_key,
        ..Api::demo()
    };
    let (status, body) = api.call(reqwest::Method::GET, "/runs", None).await;
    let (status_one, body_one) = api.call(reqwest::Method::GET, &one_run, None).await;
    attacks.record(
        "an expired API key",
        "401 unauthorized",
        format!(
            "{} and {}",
            error_of(status, &body),
            error_of(status_one, &body_one)
        ),
        status == 401 && status_one == 401,
    );
}

/// The link secret lives in SSM Parameter Store only: no deployed function's configuration
/// (GetFunctionConfiguration) and not the template hold it; the two functions that sign or
/// verify links get the parameter's name.
async fn link_secret_out_of_configuration(stack: &Stack, attacks: &mut Attacks) {
    let (value, _) = stack.link_secret_parameter().await;
    let secrets: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let functions = stack.function_names().await;
    let (mut holding, mut naming) = (0, 0);
    for function in &functions {
        let environment = stack.function_environment(function).await;
        if environment.contains_key("APPROVAL_LINK_SECRET")
            || environment
                .values()
                .any(|v| secrets.iter().any(|s| v.contains(s)))
        {
            holding += 1;
        }
        if environment
            .get("APPROVAL_LINK_SECRET_PARAMETER")
            .is_some_and(|name| name == stack.link_secret_parameter_name())
        {
            naming += 1;
        }
    }
    let template = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/template.json"),
    )
    .expect("build/template.json");
    let in_template = template.contains("\"ApprovalLinkSecret\"")
        || template.contains("\"APPROVAL_LINK_SECRET\"")
        || secrets.iter().any(|s| template.contains(s));
    attacks.record(
        "link secret in function environment / template",
        "in none; 2 hold only its SSM name",
        format!(
            "in {holding} of {}; template {}; {naming} name",
            functions.len(),
            if in_template { "HAS IT" } else { "clean" }
        ),
        !secrets.is_empty() && functions.len() > 2 && holding == 0 && !in_template && naming == 2,
    );
}

/// The local deployment's secrets on disk: for their owner only.
fn secret_files(attacks: &mut Attacks) {
    use std::os::unix::fs::PermissionsExt;
    let cache = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache");
    for (attack, file) in [
        (
            "link secret file readable by other users",
            "approval-link-secret",
        ),
        ("API key file readable by other users", "api-key-local"),
    ] {
        let mode = std::fs::metadata(cache.join(file))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o777);
        attacks.record(
            attack,
            "mode 600",
            format!("mode {mode:o}"),
            mode & 0o077 == 0,
        );
    }
}

#[tokio::test]
async fn attacks_are_refused_and_change_nothing() {
    let stack = Stack::connect().await;
    let api = Api::demo();
    let mut attacks = Attacks::default();
    forged_payload_references(&stack, &api, &mut attacks).await;
    decisions(&stack, &api, &mut attacks).await;
    designated_approvers(&stack, &mut attacks).await;
    revoked_and_expired_keys(&stack, &mut attacks).await;
    link_secret_out_of_configuration(&stack, &mut attacks).await;
    secret_files(&mut attacks);
    attacks.finish();
}
