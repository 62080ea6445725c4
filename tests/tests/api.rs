//! The run API over HTTP, through its Function URL on the live local stack: keys and tenants,
//! the five seed workflows started and followed through it, approval gates decided through
//! it and through signed links, listing, cancelling, timelines, logs, and every way a request
//! can be wrong. Every answer must be JSON and nothing a client sends may produce a 5xx.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};
use switchyard_e2e::{api_url, create_api_key, function_url_client, saved_api_key, Stack};

const LIMIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(300);
const SEEDS: [&str; 5] = [
    "campaign-creation",
    "sales-outreach",
    "movie-production",
    "enterprise-coordinator",
    "dev-team",
];

/// Two tenants made for this run of the file, so listings hold exactly what the tests made.
struct Tenants {
    a: String,
    a_key: String,
    b: String,
    b_key: String,
}

fn tenants() -> &'static Tenants {
    static TENANTS: OnceLock<Tenants> = OnceLock::new();
    TENANTS.get_or_init(|| {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let a = format!("e2e-api-a-{suffix}");
        let b = format!("e2e-api-b-{suffix}");
        let (a_key, b_key) = std::thread::scope(|scope| {
            let a_key = scope.spawn(|| create_api_key(&a));
            let b_key = scope.spawn(|| create_api_key(&b));
            (
                a_key.join().expect("key for tenant a"),
                b_key.join().expect("key for tenant b"),
            )
        });
        Tenants { a, a_key, b, b_key }
    })
}

/// One answer: status, headers and the JSON body (every answer has one).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `(status, error, field)` of an error answer.
    fn error(&self) -> (u16, &str, Option<&str>) {
        (
            self.status,
            self.body["error"].as_str().unwrap_or("<no error code>"),
            self.body["field"].as_str(),
        )
    }
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Api {
    fn anonymous() -> Api {
        let base = api_url();
        Api {
            http: function_url_client(&base),
            base,
            key: None,
        }
    }

    fn with_key(key: &str) -> Api {
        Api {
            key: Some(key.to_owned()),
            ..Api::anonymous()
        }
    }

    fn a() -> Api {
        Api::with_key(&tenants().a_key)
    }

    fn b() -> Api {
        Api::with_key(&tenants().b_key)
    }

    fn demo() -> Api {
        Api::with_key(&saved_api_key())
    }

    fn builder(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Sends and checks what every answer must be: JSON, never a 5xx, errors with a code and
    /// a message.
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Reply {
        let reply = self.answer(request, what).await;
        assert!(
            reply.status < 500,
            "{what} answered {}: {}",
            reply.status,
            reply.body
        );
        reply
    }

    /// Sends and checks the answer is JSON (errors with a code and a message), whatever
    /// its status.
    async fn answer(&self, request: reqwest::RequestBuilder, what: &str) -> Reply {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: the API does not answer: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        assert!(
            headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "{what} answered {status} without JSON content-type: {headers:?} {text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{what} answered {status} with a body that is not JSON ({e}): {text}")
        });
        if status >= 400 {
            assert!(
                body["error"].is_string() && body["message"].is_string(),
                "{what}: {status} without {{error, message}}: {body}"
            );
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: &str, path: &str) -> Reply {
        self.send(self.builder(method, path), &format!("{method} {path}"))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, body.to_string().into_bytes()).await
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> Reply {
        let request = self
            .builder("POST", path)
            .header("content-type", "application/json")
            .body(body);
        self.send(request, &format!("POST {path}")).await
    }

    /// Starts a run; returns its id.
    async fn start(&self, body: Value) -> String {
        let reply = self.post("/runs/start", &body).await;
        assert_eq!(reply.status, 202, "start {body}: {}", reply.body);
        assert_eq!(reply.body["status"], "running");
        let run_id = reply.body["run_id"]
            .as_str()
            .expect("a started run has an id")
            .to_owned();
        assert_eq!(
            reply.header("location"),
            Some(format!("/runs/{run_id}").as_str())
        );
        assert_eq!(reply.body["links"]["self"], format!("/runs/{run_id}"));
        run_id
    }

    async fn run(&self, run_id: &str) -> Value {
        let reply = self.get(&format!("/runs/{run_id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// Follows the run through `GET /runs/{id}` until it leaves `running` (and, once
    /// succeeded, shows its output: see `a_run_reported_succeeded_shows_its_output`).
    async fn finished(&self, run_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let run = self.run(run_id).await;
            let without_output = run["status"] == "succeeded" && run.get("output").is_none();
            if run["status"] != "running" && !without_output {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run_id} still running after {LIMIT:?}: {run}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Follows the run until it waits at `gate`; returns the run and the pending approval.
    async fn pending(&self, run_id: &str, gate: &str) -> (Value, Value) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let run = self.run(run_id).await;
            let approval = run["approvals"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["gate"] == gate && a["status"] == "pending")
                .cloned();
            if let Some(approval) = approval {
                return (run, approval);
            }
            assert_eq!(
                run["status"], "running",
                "run {run_id} ended before waiting at {gate}: {run}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run_id} not waiting at {gate} after {LIMIT:?}: {run}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every run id of a listing, following `next_cursor` to the end.
    async fn list_all(&self, query: &str) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/runs?{query}&cursor={c}"),
                None => format!("/runs?{query}"),
            };
            let reply = self.get(&path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            ids.extend(run_ids(&reply.body));
            pages += 1;
            assert!(pages < 20, "{query}: the cursor never ends");
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => {
                    assert!(reply.body["next_cursor"].is_null());
                    return (ids, pages);
                }
            }
        }
    }
}

fn run_ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of runs: {page}"))
        .iter()
        .map(|r| r["run_id"].as_str().expect("run id").to_owned())
        .collect()
}

fn example(workflow: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/cli/examples")
        .join(format!("{workflow}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("examples are JSON")
}

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"))
}

/// What every finished, successful run shows: each attempt with its latency, tokens and
/// cost, and totals that add them up exactly once.
fn assert_succeeded_with_costs(run: &Value, workflow: &str) {
    let id = run["run_id"].as_str().unwrap_or_default();
    assert_eq!(run["status"], "succeeded", "{workflow} {id}: {run}");
    assert_eq!(run["workflow"], workflow);
    assert!(run.get("failure").is_none(), "{run}");
    assert!(run["execution_arn"]
        .as_str()
        .is_some_and(|arn| arn.ends_with(id)));
    assert!(number(&run["finished_at"], "finished_at") >= number(&run["created_at"], "created_at"));
    let steps = run["steps"].as_array().expect("steps");
    assert!(!steps.is_empty(), "{workflow}: no step attempts: {run}");
    let (mut tokens_in, mut tokens_out, mut cost) = (0.0, 0.0, 0.0);
    for step in steps {
        let name = step["step"].as_str().expect("step name");
        assert!(
            step["status"] == "succeeded" || step["status"] == "failed",
            "{workflow}.{name} unfinished in a finished run: {step}"
        );
        let latency = number(&step["latency_ms"], "latency_ms");
        let started = number(&step["started_at"], "started_at");
        let finished = number(&step["finished_at"], "finished_at");
        assert!(finished >= started && latency >= 0.0, "{step}");
        tokens_in += number(&step["tokens_in"], "tokens_in");
        tokens_out += number(&step["tokens_out"], "tokens_out");
        let step_cost = number(&step["cost_usd"], "cost_usd");
        assert!(step_cost >= 0.0, "{step}");
        cost += step_cost;
        // A step that spent tokens names the model that spent them.
        if number(&step["tokens_in"], "tokens_in") > 0.0 {
            assert!(
                step["model"].is_string(),
                "{workflow}.{name}: no model: {step}"
            );
        }
    }
    // Every seed asks the model somewhere (the enterprise example's items name no policy
    // category, so its classifier asks).
    assert!(
        steps
            .iter()
            .any(|s| number(&s["tokens_out"], "tokens_out") > 0.0),
        "{workflow}: no step asked the model: {steps:?}"
    );
    let totals = &run["totals"];
    assert_eq!(
        number(&totals["step_attempts"], "step_attempts"),
        steps.len() as f64,
        "{workflow}: {totals}"
    );
    assert_eq!(number(&totals["tokens_in"], "tokens_in"), tokens_in);
    assert_eq!(number(&totals["tokens_out"], "tokens_out"), tokens_out);
    assert!((number(&totals["cost_usd"], "cost_usd") - cost).abs() < 1e-9);
}

#[tokio::test]
async fn health_answers_without_a_key_and_tells_nothing_about_tenants() {
    let anonymous = Api::anonymous();
    let reply = anonymous.get("/health").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({ "status": "ok" }));
    // A wrong key does not matter where none is needed.
    let reply = Api::with_key("sy_not-a-key").get("/health").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        anonymous.call("POST", "/health").await.error(),
        (405, "method_not_allowed", None)
    );
}

#[tokio::test]
async fn every_other_endpoint_needs_a_known_key() {
    let anonymous = Api::anonymous();
    let unknown = Api::with_key("sy_nobody-has-this-key");
    for (method, path) in [
        ("GET", "/runs"),
        ("POST", "/runs/start"),
        ("GET", "/runs/r1"),
        ("DELETE", "/runs/r1"),
        ("GET", "/runs/r1/timeline"),
        ("GET", "/runs/r1/logs"),
        ("GET", "/approvals"),
        ("POST", "/approvals/submit"),
    ] {
        let reply = anonymous.call(method, path).await;
        assert_eq!(reply.error().0, 401, "{method} {path}: {}", reply.body);
        assert_eq!(reply.body["error"], "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        let reply = unknown.call(method, path).await;
        assert_eq!(
            (reply.status, reply.body["message"].as_str()),
            (401, Some("unknown API key")),
            "{method} {path}"
        );
    }
    // The key through x-api-key works as well as Bearer; other schemes and junk do not.
    let key = &tenants().a_key;
    let reply = anonymous
        .send(
            anonymous.builder("GET", "/runs").header("x-api-key", key),
            "GET /runs with x-api-key",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for authorization in [
        format!("Basic {key}"),
        "Bearer".to_owned(),
        format!("Bearer {}", "k".repeat(300)),
    ] {
        let reply = anonymous
            .send(
                anonymous
                    .builder("GET", "/runs")
                    .header("authorization", &authorization),
                "GET /runs with a bad Authorization",
            )
            .await;
        assert_eq!(reply.error().0, 401, "{authorization:.20}: {}", reply.body);
    }
}

#[tokio::test]
async fn the_five_seed_workflows_run_to_success_through_the_api() {
    let a = Api::a();
    let mut started = Vec::new();
    for workflow in SEEDS {
        let id = a
            .start(json!({ "workflow": workflow, "input": example(workflow) }))
            .await;
        started.push((a.clone(), workflow, id));
    }
    // The campaign seed's own form, as the deploy's `demo` tenant.
    let demo = Api::demo();
    let seed = demo
        .post(
            "/runs/start",
            &json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "demo" }),
        )
        .await;
    assert_eq!(seed.status, 202, "{}", seed.body);
    assert_eq!(seed.body["workflow"], "campaign-creation");
    assert_eq!(seed.body["tenant_id"], "demo");
    let seed_id = seed.body["run_id"].as_str().expect("run id").to_owned();
    started.push((demo, "campaign-creation", seed_id));

    let waits: Vec<_> = started
        .into_iter()
        .map(|(api, workflow, id)| tokio::spawn(async move { (workflow, api.finished(&id).await) }))
        .collect();
    for wait in waits {
        let (workflow, run) = wait.await.expect("the wait finishes");
        assert_succeeded_with_costs(&run, workflow);
        let output = &run["output"];
        // Approvals come in creation order, which is kept in whole seconds: gates decided
        // within one second may come in either order.
        let gates: BTreeSet<(&str, &str)> = run["approvals"]
            .as_array()
            .expect("approvals")
            .iter()
            .map(|a| {
                assert!(a.get("links").is_none(), "decided: no links: {a}");
                assert_eq!(a["tenant_id"], run["tenant_id"], "{a}");
                assert!(a.get("task_token").is_none(), "{a}");
                (
                    a["gate"].as_str().unwrap_or_default(),
                    a["status"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        match workflow {
            "campaign-creation" => {
                let id = run["run_id"].as_str().expect("id");
                assert_eq!(output["deployment_id"], format!("dep-{id}"), "{output}");
                // The analyst's statistics are code; the strategist asks the model.
                let step = |name: &str| {
                    run["steps"]
                        .as_array()
                        .and_then(|steps| steps.iter().find(|s| s["step"] == name))
                        .cloned()
                        .unwrap_or_else(|| panic!("no {name} step: {run}"))
                };
                assert!(!step("analyze")["model"].is_string(), "{run}");
                assert!(step("strategize")["model"].is_string(), "{run}");
                assert_eq!(
                    gates,
                    BTreeSet::from([
                        ("approve_strategy", "approved"),
                        ("approve_content", "approved"),
                        ("approve_deployment", "approved")
                    ])
                );
                let expected_tenant = if run["tenant_id"] == "demo" {
                    "demo"
                } else {
                    tenants().a.as_str()
                };
                assert_eq!(run["tenant_id"], expected_tenant);
            }
            "sales-outreach" => {
                let input = example(workflow);
                let stages: Vec<String> =
                    serde_json::from_value(input["stages"].clone()).expect("stages");
                let expected = switchyard_agents::sales::crm()
                    .expect("dataset")
                    .iter()
                    .filter(|d| d.close_quarter == input["quarter"] && d.value >= 20000.0)
                    .filter(|d| stages.contains(&d.stage))
                    .count()
                    .min(10);
                assert!(expected > 0, "the example matches deals");
                assert_eq!(output["emails"], expected, "{output}");
                let written = run["steps"]
                    .as_array()
                    .expect("steps")
                    .iter()
                    .filter(|s| s["step"] == "write_email" && s["status"] == "succeeded")
                    .count();
                assert_eq!(written, expected, "one attempt per deal");
                assert!(gates.is_empty(), "{gates:?}");
            }
            "movie-production" => {
                assert_eq!(output["episodes"], 3, "{output}");
                assert_eq!(gates, BTreeSet::from([("pick_concept", "approved")]));
            }
            "enterprise-coordinator" => {
                assert_eq!(output["purchase_order"], "PO-R-1001", "{output}");
                // 4 × 2400 + 4 × 90 is over the 5000 finance threshold.
                assert_eq!(gates, BTreeSet::from([("finance_approval", "approved")]));
            }
            "dev-team" => {
                assert_eq!(output["passed"], true, "{output}");
                assert_eq!(output["changes"].as_array().map(Vec::len), Some(2));
                assert!(gates.is_empty(), "{gates:?}");
            }
            other => unreachable!("{other}"),
        }
    }
}

/// Posts a signed decision link's confirmation form, asking for JSON (as a mail client's
/// browser would, minus the HTML).
async fn post_link(url: &str, approver: &str) -> (u16, Value) {
    let response = function_url_client(url)
        .post(url)
        .header("accept", "application/json")
        .form(&[("approver", approver), ("notes", "via the link")])
        .send()
        .await
        .expect("the callback answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_gated_run_waits_and_resumes_on_api_and_link_decisions() {
    let stack = Stack::connect().await;
    let callback = stack
        .deployment
        .approval_callback_url
        .clone()
        .expect("deployment has the callback URL");
    let a = Api::a();
    let run_id = a
        .start(json!({ "brand_id": "acme", "selected_month": "2024-09", "auto_approve": false }))
        .await;

    // Gate 1, through the API.
    let (run, strategy) = a.pending(&run_id, "approve_strategy").await;
    assert_eq!(run["status"], "running");
    assert_eq!(run["current_step"], "approve_strategy");
    assert!(run.get("output").is_none());
    let done: Vec<&str> = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["status"] == "succeeded")
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert!(
        done.contains(&"analyze") && done.contains(&"strategize"),
        "{done:?}"
    );
    assert!(strategy["subject"].as_str().is_some_and(|s| !s.is_empty()));
    // The token that resumes the run never leaves the store.
    assert!(strategy.get("task_token").is_none(), "{strategy}");
    let links = strategy["links"]
        .as_object()
        .expect("a pending request has links");
    assert!(
        links.contains_key("approve") && links.contains_key("reject"),
        "{links:?}"
    );
    for link in links.values() {
        assert!(
            link.as_str()
                .is_some_and(|l| l.starts_with(callback.trim_end_matches('/'))),
            "{link} is not a callback link"
        );
    }
    let request_id = strategy["request_id"].as_str().expect("id").to_owned();
    let listed = a.get("/approvals?status=pending&limit=100").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        listed.body["approvals"]
            .as_array()
            .expect("approvals")
            .iter()
            .any(|x| x["request_id"] == request_id.as_str()),
        "{}",
        listed.body
    );
    let decision = json!({
        "request_id": request_id, "decision": "approve", "notes": "strategy ok"
    });
    let reply = a.post("/approvals/submit", &decision).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "approved");
    // Recorded as the API key that decided, verified; never a name from the body.
    let key_identity = reply.body["decided_by"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        key_identity.starts_with(&format!("api-key:{}/", tenants().a)),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["approver_verified"], true);
    assert_eq!(reply.body["notes"], "strategy ok");
    assert!(reply.body.get("links").is_none());
    // Deciding twice: the first decision stands.
    let again = a
        .post(
            "/approvals/submit",
            &json!({ "request_id": request_id, "decision": "reject" }),
        )
        .await;
    assert_eq!(again.error(), (409, "already_decided", None));
    assert_eq!(again.body["decided_by"], key_identity.as_str());

    // Gate 2, through the signed link the request carries.
    let (_, content) = a.pending(&run_id, "approve_content").await;
    let url = content["links"]["approve"].as_str().expect("approve link");
    let (status, body) = post_link(url, "bob@acme.test").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("approved")),
        "{body}"
    );

    // Gate 3, through the API again, after a decision the gate does not offer.
    let (_, deployment) = a.pending(&run_id, "approve_deployment").await;
    let id = deployment["request_id"].as_str().expect("id");
    let maybe = a
        .post(
            "/approvals/submit",
            &json!({ "request_id": id, "decision": "maybe" }),
        )
        .await;
    assert_eq!(
        maybe.error(),
        (400, "decision_not_allowed", Some("decision"))
    );
    let reply = a
        .post(
            "/approvals/submit",
            &json!({ "request_id": id, "decision": "approve" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let run = a.finished(&run_id).await;
    assert_succeeded_with_costs(&run, "campaign-creation");
    assert_eq!(run["output"]["deployment_id"], format!("dep-{run_id}"));
    let created: Vec<u64> = run["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .filter_map(|x| x["created_at"].as_u64())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    let decided: BTreeSet<(&str, &str, &str)> = run["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .map(|x| {
            (
                x["gate"].as_str().unwrap_or_default(),
                x["status"].as_str().unwrap_or_default(),
                x["decided_by"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        decided,
        BTreeSet::from([
            ("approve_strategy", "approved", key_identity.as_str()),
            ("approve_content", "approved", "bob@acme.test"),
            ("approve_deployment", "approved", key_identity.as_str()),
        ])
    );
}

#[tokio::test]
async fn runs_are_listed_newest_first_filtered_and_paged() {
    // Tenant b's runs are only the ones made here.
    let b = Api::b();
    let first = b
        .start(json!({ "workflow": "self-test", "input": { "fail_times": 0, "numbers": [1] } }))
        .await;
    let gated = b
        .start(json!({
            "workflow": "campaign-creation",
            "input": { "brand_id": "acme", "selected_month": "2024-10" },
            "auto_approve": false,
        }))
        .await;
    let last = b
        .start(json!({ "workflow": "self-test", "input": { "fail_times": 0, "numbers": [2] } }))
        .await;
    let (one, three) = tokio::join!(b.finished(&first), b.finished(&last));
    assert_eq!(one["status"], "succeeded", "{one}");
    assert_eq!(one["tenant_id"], tenants().b.as_str());
    assert_eq!(three["status"], "succeeded", "{three}");
    let ids = |list: &[&String]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let all = b.get("/runs").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        run_ids(&all.body),
        ids(&[&last, &gated, &first]),
        "newest first"
    );
    assert!(all.body["next_cursor"].is_null());
    let newest = &all.body["runs"][0];
    assert_eq!(newest["workflow"], "self-test");
    assert_eq!(newest["status"], "succeeded");
    assert_eq!(newest["links"]["self"], format!("/runs/{last}"));
    assert!(
        newest["totals"]["step_attempts"].as_u64() > Some(0),
        "{newest}"
    );

    for (query, expected) in [
        ("status=succeeded", ids(&[&last, &first])),
        ("status=running", ids(&[&gated])),
        ("workflow=self-test", ids(&[&last, &first])),
        ("workflow=campaign-creation&status=running", ids(&[&gated])),
        ("workflow=campaign-creation&status=succeeded", vec![]),
        ("status=failed", vec![]),
        ("workflow=dev-team", vec![]),
        ("status=&workflow=", ids(&[&last, &gated, &first])),
    ] {
        let reply = b.get(&format!("/runs?{query}")).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert_eq!(run_ids(&reply.body), expected, "{query}");
    }

    // Pages: two, then the rest, without overlap.
    let page = b.get("/runs?limit=2").await;
    assert_eq!(run_ids(&page.body), ids(&[&last, &gated]));
    let cursor = page.body["next_cursor"].as_str().expect("a second page");
    let rest = b.get(&format!("/runs?limit=2&cursor={cursor}")).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(run_ids(&rest.body), ids(&[&first]));
    assert!(rest.body["next_cursor"].is_null());
    // One by one, and one by one through a filter.
    let (paged, pages) = b.list_all("limit=1").await;
    assert_eq!(paged, ids(&[&last, &gated, &first]));
    assert!(pages >= 3);
    let (paged, _) = b
        .list_all("limit=1&status=succeeded&workflow=self-test")
        .await;
    assert_eq!(paged, ids(&[&last, &first]));

    // Bad parameters name themselves.
    for (query, field) in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=e30", "cursor"),
        ("sort=asc", "sort"),
        ("limit=1&limit=2", "limit"),
    ] {
        let reply = b.get(&format!("/runs?{query}")).await;
        assert_eq!(reply.error(), (400, "bad_request", Some(field)), "{query}");
    }
    // Cancelling moves the gated run to `cancelled`; a finished run cannot be cancelled.
    let cancelled = b.delete(&format!("/runs/{gated}")).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_stopped(&Stack::connect().await, &gated).await;
    let reply = b.get("/runs?status=cancelled").await;
    assert_eq!(run_ids(&reply.body), ids(&[&gated]));
    let reply = b.delete(&format!("/runs/{first}")).await;
    assert_eq!(reply.error(), (409, "not_running", None));
    assert_eq!(reply.body["status"], "succeeded");
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn a_run_stopped_outside_switchyard_is_recorded_from_its_status_event_and_the_reconciler_backs_it_up(
) {
    let stack = Stack::connect().await;
    let a = Api::a();
    let run_id = a
        .start(json!({
            "workflow": "campaign-creation",
            "input": { "brand_id": "acme", "selected_month": "2024-10" },
            "auto_approve": false,
        }))
        .await;
    let (run, _) = a.pending(&run_id, "approve_strategy").await;
    let arn = run["execution_arn"].as_str().expect("arn").to_owned();
    // Stopped from the console, as far as Switchyard knows: no run-tracker runs.
    stack
        .sfn
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("the execution stops");
    assert_stopped(&stack, &run_id).await;

    // The execution's ABORTED status-change event records the cancel and expires the gate.
    stack.wait_recorded(&run_id).await;
    let stored = stack.run_record(&run_id).await.expect("the record");
    assert_eq!(stored["status"], "cancelled", "{stored:?}");
    let approvals = stack.approvals(&run_id).await;
    assert!(
        approvals.iter().all(|a| a["status"] == "expired"),
        "{approvals:?}"
    );

    // Had that event been lost (put the record back as it would then stand), the
    // reconciler's tick records the end from the execution.
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.deployment.tables["runs"])
        .key("run_id", AttributeValue::S(run_id.clone()))
        .update_expression("SET #status = :running REMOVE finished_at")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":running", AttributeValue::S("running".into()))
        .send()
        .await
        .expect("the record is put back to running");
    // The schedule's tick (what EventBridge sends the API function) records it.
    let tick = json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} });
    let invoked = stack
        .lambda
        .invoke()
        .function_name("switchyard-api")
        .payload(aws_sdk_lambda::primitives::Blob::new(tick.to_string()))
        .send()
        .await
        .expect("the API function answers the tick");
    assert!(invoked.function_error().is_none(), "{invoked:?}");
    let report: Value = invoked
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .expect("a sweep report");
    assert!(
        report["reconciled"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == run_id.as_str())),
        "{report}"
    );
    let stored = stack.run_record(&run_id).await.expect("the record");
    assert_eq!(stored["status"], "cancelled", "{stored:?}");
    let approvals = stack.approvals(&run_id).await;
    assert!(
        approvals.iter().all(|a| a["status"] == "expired"),
        "{approvals:?}"
    );
}

/// The run's execution was stopped. AWS aborts it at once; LocalStack applies a stop to an
/// execution waiting for a task token only when the wait ends, so end the wait with the
/// stored token: a stopped execution is then ABORTED, one that was not goes on running.
async fn assert_stopped(stack: &Stack, run_id: &str) {
    let arn = format!(
        "{}:{run_id}",
        stack
            .state_machine("campaign-creation")
            .replace(":stateMachine:", ":execution:")
    );
    let mut nudged = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match stack.status(&arn).await {
            ExecutionStatus::Aborted => return,
            ExecutionStatus::Running if !nudged => {
                let tokens = stack.task_tokens(run_id).await;
                assert!(!tokens.is_empty(), "no stored task token for {run_id}");
                for token in tokens {
                    // A token whose wait already ended is refused; that is fine here.
                    let _ = stack
                        .sfn
                        .send_task_success()
                        .task_token(token)
                        .output(json!({ "decision": "approve" }).to_string())
                        .send()
                        .await;
                }
                nudged = true;
            }
            ExecutionStatus::Running => assert!(
                tokio::time::Instant::now() < deadline,
                "{run_id}: the execution was not stopped: still running"
            ),
            other => panic!("{run_id}: the execution was not stopped but ended {other:?}"),
        }
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test]
async fn another_tenant_can_neither_see_nor_touch_a_run_and_cancelling_stops_it() {
    let stack = Stack::connect().await;
    let (a, b) = (Api::a(), Api::b());
    let run_id = a
        .start(json!({
            "workflow": "campaign-creation",
            "input": { "brand_id": "globex", "selected_month": "2024-08" },
            "auto_approve": false,
        }))
        .await;
    let (run, approval) = a.pending(&run_id, "approve_strategy").await;
    let arn = run["execution_arn"].as_str().expect("arn").to_owned();
    let request_id = approval["request_id"].as_str().expect("id").to_owned();

    // Tenant b: the run and its request are as absent as ones that never existed.
    let never = "never-existed-0000";
    for suffix in ["", "/timeline", "/logs"] {
        let theirs = b.get(&format!("/runs/{run_id}{suffix}")).await;
        assert_eq!(theirs.error(), (404, "not_found", None), "{suffix}");
        let missing = b.get(&format!("/runs/{never}{suffix}")).await;
        assert_eq!(missing.status, 404);
        assert_eq!(
            theirs.body["message"]
                .as_str()
                .map(|m| m.replace(&run_id, "ID")),
            missing.body["message"]
                .as_str()
                .map(|m| m.replace(never, "ID")),
            "the answer does not tell a foreign run from none"
        );
    }
    let reply = b.delete(&format!("/runs/{run_id}")).await;
    assert_eq!(reply.error(), (404, "not_found", None));
    let reply = b
        .post(
            "/approvals/submit",
            &json!({ "request_id": request_id, "decision": "approve" }),
        )
        .await;
    assert_eq!(reply.error(), (404, "not_found", None));
    let reply = b
        .post(
            "/approvals/submit",
            &json!({ "request_id": request_id, "decision": "reject" }),
        )
        .await;
    assert_eq!(reply.error(), (404, "not_found", None));
    let listed = b.get("/runs?limit=100").await;
    assert!(!run_ids(&listed.body).contains(&run_id), "{}", listed.body);
    let listed = b.get("/approvals?limit=100").await;
    assert_eq!(listed.status, 200);
    assert!(
        !listed.body["approvals"]
            .as_array()
            .expect("approvals")
            .iter()
            .any(|x| x["request_id"] == request_id.as_str()),
        "{}",
        listed.body
    );
    // b claiming a's tenant in a start body is refused.
    let reply = b
        .post(
            "/runs/start",
            &json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": tenants().a }),
        )
        .await;
    assert_eq!(reply.error(), (403, "forbidden", Some("tenant_id")));

    // Nothing b did changed a's run.
    let run = a.run(&run_id).await;
    assert_eq!(run["status"], "running");
    let still = run["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .find(|x| x["request_id"] == request_id.as_str())
        .expect("the request");
    assert_eq!(still["status"], "pending");
    assert!(still["decided_by"].is_null() && still["links"]["approve"].is_string());
    assert_eq!(stack.status(&arn).await, ExecutionStatus::Running);

    // a cancels: the execution stops, the run is cancelled and its request expires.
    let reply = a.delete(&format!("/runs/{run_id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "cancelled");
    assert_eq!(reply.body["run_id"], run_id.as_str());
    assert_eq!(reply.body["workflow"], "campaign-creation");
    assert_stopped(&stack, &run_id).await;
    let run = a.run(&run_id).await;
    assert_eq!(run["status"], "cancelled");
    assert!(run["finished_at"].is_u64(), "{run}");
    let expired = &run["approvals"][0];
    assert_eq!(expired["status"], "expired", "{run}");
    assert!(expired.get("links").is_none(), "{expired}");
    let again = a.delete(&format!("/runs/{run_id}")).await;
    assert_eq!(again.error(), (409, "not_running", None));
    assert_eq!(again.body["status"], "cancelled");
    let late = a
        .post(
            "/approvals/submit",
            &json!({ "request_id": request_id, "decision": "approve" }),
        )
        .await;
    assert_eq!(late.error(), (410, "request_expired", None));
}

#[tokio::test]
async fn the_timeline_is_in_order_and_logs_filter_by_level_and_step() {
    let a = Api::a();
    let run_id = a
        .start(json!({ "workflow": "self-test", "input": { "fail_times": 1, "numbers": [1, 2] } }))
        .await;
    let run = a.finished(&run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], json!([5, 4]));

    let timeline = a.get(&format!("/runs/{run_id}/timeline")).await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert_eq!(timeline.body["run_id"], run_id.as_str());
    assert_eq!(timeline.body["status"], "succeeded");
    let events = timeline.body["events"].as_array().expect("events");
    let at: Vec<u64> = events
        .iter()
        .map(|e| e["at"].as_u64().expect("at"))
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "in time order: {at:?}");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"), "{kinds:?}");
    let history_ids: Vec<i64> = events
        .iter()
        .filter(|e| e["source"] == "execution")
        .map(|e| e["event_id"].as_i64().expect("event id"))
        .collect();
    assert!(
        history_ids.windows(2).all(|w| w[0] < w[1]),
        "history keeps its order: {history_ids:?}"
    );
    let position = |kind: &str, step: &str, attempt: u64| {
        events
            .iter()
            .position(|e| e["type"] == kind && e["step"] == step && e["attempt"] == attempt)
            .unwrap_or_else(|| panic!("no {kind} of {step} attempt {attempt}: {kinds:?}"))
    };
    let failed = &events[position("AgentAttemptFailed", "flaky_step", 0)];
    assert_eq!(failed["error"], "Agent.Retryable", "{failed}");
    assert!(
        position("AgentAttemptStarted", "flaky_step", 0)
            < position("AgentAttemptFailed", "flaky_step", 0)
    );
    assert!(
        position("AgentAttemptFailed", "flaky_step", 0)
            < position("AgentAttemptStarted", "flaky_step", 1)
    );
    let retried = &events[position("AgentAttemptSucceeded", "flaky_step", 1)];
    assert!(
        retried["latency_ms"].is_u64() && retried["tokens_in"].is_u64(),
        "{retried}"
    );
    assert_eq!(
        events[position("AgentAttemptFailed", "risky", 0)]["error"],
        "Agent.Permanent"
    );
    let items: BTreeSet<u64> = events
        .iter()
        .filter(|e| e["type"] == "AgentAttemptSucceeded" && e["step"] == "square_one")
        .filter_map(|e| e["item"].as_u64())
        .collect();
    assert_eq!(items, BTreeSet::from([0, 1]), "one attempt per map item");
    let entered = events
        .iter()
        .position(|e| e["source"] == "execution" && e["state"] == "flaky_step")
        .expect("the state machine entered flaky_step");
    assert!(entered < position("AgentAttemptStarted", "flaky_step", 0));

    // Logs reach CloudWatch shortly after each invocation ends.
    let logs = format!("/runs/{run_id}/logs");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let flaky = loop {
        let reply = a.get(&format!("{logs}?step=flaky_step")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let lines = reply.body["lines"].as_array().cloned().expect("lines");
        let said = |m: &str| lines.iter().any(|l| l["message"] == m);
        if said("agent failed") && said("agent succeeded") {
            break lines;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "flaky_step's lines never arrived: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for line in &flaky {
        assert_eq!(line["step"], "flaky_step", "{line}");
        assert_eq!(line["fields"]["run_id"], run_id.as_str(), "{line}");
        assert!(line["function"]
            .as_str()
            .is_some_and(|f| f.starts_with("switchyard-")));
    }
    let attempts: BTreeSet<u64> = flaky
        .iter()
        .filter_map(|l| l["fields"]["attempt"].as_u64())
        .collect();
    assert_eq!(attempts, BTreeSet::from([0, 1]), "{flaky:?}");
    let ats: Vec<u64> = flaky.iter().filter_map(|l| l["at"].as_u64()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "{ats:?}");

    let reply = a.get(&format!("{logs}?level=warn&step=flaky_step")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let warnings = reply.body["lines"].as_array().expect("lines");
    assert!(!warnings.is_empty());
    for line in warnings {
        assert!(
            line["level"] == "WARN" || line["level"] == "ERROR",
            "{line}"
        );
        assert_eq!(line["step"], "flaky_step");
    }
    assert!(warnings.iter().any(|l| l["message"] == "agent failed"));
    assert!(!warnings.iter().any(|l| l["message"] == "agent succeeded"));

    let reply = a.get(&logs).await;
    let all = reply.body["lines"].as_array().expect("lines");
    assert!(all.len() > flaky.len(), "the step filter filtered nothing");
    assert!(all.iter().all(|l| l["fields"]["run_id"] == run_id.as_str()));
    let reply = a.get(&format!("{logs}?level=error&step=square_one")).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .all(|l| l["level"] == "ERROR" && l["step"] == "square_one"));
    assert_eq!(
        a.get(&format!("{logs}?level=chatty")).await.error(),
        (400, "bad_request", Some("level"))
    );
    assert_eq!(
        a.get(&format!("{logs}?since=1")).await.error(),
        (400, "bad_request", Some("since"))
    );
    assert_eq!(
        a.get(&format!("/runs/{run_id}/timeline?verbose=1"))
            .await
            .error(),
        (400, "bad_request", Some("verbose"))
    );
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field() {
    let a = Api::a();
    let start = |body: Value| {
        let a = a.clone();
        async move { a.post("/runs/start", &body).await }
    };
    for (body, expected) in [
        (
            json!({ "workflow": "campaign-creation", "input": { "brand_id": "acme" } }),
            ("invalid_input", "input.selected_month"),
        ),
        (
            json!({ "brand_id": "acme" }),
            ("invalid_input", "selected_month"),
        ),
        (
            json!({ "brand_id": "acme", "selected_month": 202411 }),
            ("invalid_input", "selected_month"),
        ),
        (
            json!({ "workflow": "self-test", "input": { "fail_times": "two", "numbers": [] } }),
            ("invalid_input", "input.fail_times"),
        ),
        (
            json!({ "workflow": "enterprise-coordinator", "input": {
                "request_id": "R-1", "department": "eng", "requester": "ada",
                "items": [{ "description": "x", "quantity": "four", "unit_price": 1.0 }] } }),
            ("invalid_input", "input.items[0].quantity"),
        ),
        (
            json!({ "workflow": "self-test", "input": "all of them" }),
            ("invalid_input", "input"),
        ),
        (
            json!({ "workflow": "no-such-flow", "input": {} }),
            ("unknown_workflow", "workflow"),
        ),
        (json!({ "workflow": "self-test" }), ("bad_request", "input")),
        (json!({ "input": {} }), ("bad_request", "workflow")),
        (
            json!({ "workflow": 7, "input": {} }),
            ("bad_request", "workflow"),
        ),
        (
            json!({ "workflow": "self-test", "input": { "fail_times": 0, "numbers": [] }, "extra": 1 }),
            ("bad_request", "extra"),
        ),
        (
            json!({ "workflow": "gate-test", "input": { "topic": "t" }, "auto_approve": "yes" }),
            ("bad_request", "auto_approve"),
        ),
    ] {
        let reply = start(body.clone()).await;
        assert_eq!(
            reply.error(),
            (400, expected.0, Some(expected.1)),
            "{body}: {}",
            reply.body
        );
    }
    // Not JSON, not an object, nothing at all, not UTF-8.
    for raw in [
        &b"{\"workflow\": "[..],
        b"[]",
        b"\"campaign\"",
        b"",
        b"   ",
        b"\xff\xfe{}",
    ] {
        let reply = a.post_raw("/runs/start", raw.to_vec()).await;
        assert_eq!(
            reply.error(),
            (400, "malformed_json", Some("body")),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
        let reply = a.post_raw("/approvals/submit", raw.to_vec()).await;
        assert_eq!(reply.error(), (400, "malformed_json", Some("body")));
    }
    // An input over Step Functions' 256 KiB.
    let big = json!({ "workflow": "gate-test", "input": { "topic": "x".repeat(300 * 1024) } });
    let reply = start(big).await;
    assert_eq!(reply.error(), (413, "payload_too_large", Some("input")));
    // A query string where none is taken.
    let reply = a.post_raw("/runs/start?dry_run=1", b"{}".to_vec()).await;
    assert_eq!(reply.error(), (400, "bad_request", Some("dry_run")));

    for (body, field) in [
        (json!({}), "request_id"),
        (json!({ "request_id": "r" }), "decision"),
        (
            json!({ "request_id": "", "decision": "approve" }),
            "request_id",
        ),
        (
            json!({ "request_id": 5, "decision": "approve" }),
            "request_id",
        ),
        (
            json!({ "request_id": "r", "decision": "approve", "approver": 1 }),
            "approver",
        ),
        (
            json!({ "request_id": "r", "decision": "approve", "vote": "yes" }),
            "vote",
        ),
    ] {
        let reply = a.post("/approvals/submit", &body).await;
        assert_eq!(reply.error().0, 400, "{body}: {}", reply.body);
        assert_eq!(reply.error().2, Some(field), "{body}: {}", reply.body);
    }
    // Requests that do not exist, however odd their ids.
    for request_id in ["no-such-request", "../../etc", "r\u{e9}quest \u{1f600}"] {
        let reply = a
            .post(
                "/approvals/submit",
                &json!({ "request_id": request_id, "decision": "approve" }),
            )
            .await;
        assert_eq!(reply.error(), (404, "not_found", None), "{request_id:.20}");
    }
    for query in ["status=maybe", "limit=-1", "cursor=%%%"] {
        let reply = a.get(&format!("/approvals?{query}")).await;
        assert_eq!(reply.error().0, 400, "{query}: {}", reply.body);
    }
}

/// A client follows a run until it is no longer `running`; a run reported `succeeded` must
/// then show its output. Polled as fast as the API answers, a few short runs at once.
#[tokio::test]
async fn a_run_reported_succeeded_shows_its_output() {
    let a = Api::a();
    let mut watchers = Vec::new();
    for n in 1..=6 {
        let id = a
            .start(json!({ "workflow": "self-test", "input": { "fail_times": 0, "numbers": [n] } }))
            .await;
        let a = a.clone();
        watchers.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + LIMIT;
            loop {
                let run = a.run(&id).await;
                if run["status"] != "running" {
                    return run;
                }
                assert!(tokio::time::Instant::now() < deadline, "{run}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    for watcher in watchers {
        let run = watcher.await.expect("the watch ends");
        assert_eq!(run["status"], "succeeded", "{run}");
        let n = run["input_summary"].as_str().unwrap_or_default().to_owned();
        assert!(
            run["output"].is_array(),
            "reported succeeded without its output (input {n}): {run}"
        );
    }
}

/// Values are the client's to get wrong: ids and cursors no store could hold (empty, or
/// over DynamoDB's 2048-byte key limit) and notes no item could hold (over 400 KB) are
/// refused or not found, never a 5xx. Collects every wrong answer before failing.
#[tokio::test]
async fn oversized_or_made_up_values_are_4xx_never_5xx() {
    let a = Api::a();
    // A gate that waits (and times out by itself after 8 s).
    let gated = a
        .start(json!({ "workflow": "gate-test", "input": { "topic": "sizes" }, "auto_approve": false }))
        .await;
    let mut wrong = Vec::new();
    for forged in [
        json!({ "id": "", "created_at": 1 }),
        json!({ "id": "x".repeat(3000), "created_at": 1 }),
    ] {
        let cursor = base64url(forged.to_string().as_bytes());
        for path in ["/runs", "/approvals"] {
            let what = format!("GET {path}?cursor=<{forged:.40}>");
            let reply = a
                .answer(a.builder("GET", &format!("{path}?cursor={cursor}")), &what)
                .await;
            if !(reply.status == 200 || reply.error() == (400, "bad_request", Some("cursor"))) {
                wrong.push(format!("{what}: {} {:.160}", reply.status, reply.body));
            }
        }
    }
    let what = "POST /approvals/submit with a 3000-byte request_id";
    let body = json!({ "request_id": "x".repeat(3000), "decision": "approve" });
    let reply = a
        .answer(
            a.builder("POST", "/approvals/submit")
                .header("content-type", "application/json")
                .body(body.to_string()),
            what,
        )
        .await;
    if !(reply.error() == (404, "not_found", None)
        || reply.error() == (400, "bad_request", Some("request_id")))
    {
        wrong.push(format!("{what}: {} {:.160}", reply.status, reply.body));
    }
    let (_, pending) = a.pending(&gated, "ask").await;
    let what = "POST /approvals/submit with 450 KB of notes";
    let body = json!({
        "request_id": pending["request_id"], "decision": "approve",
        "notes": "n".repeat(450 * 1024),
    });
    let reply = a
        .answer(
            a.builder("POST", "/approvals/submit")
                .header("content-type", "application/json")
                .body(body.to_string()),
            what,
        )
        .await;
    if !((400..500).contains(&reply.status) && reply.body["field"] == "notes") {
        wrong.push(format!("{what}: {} {:.160}", reply.status, reply.body));
    }
    let still = a.run(&gated).await;
    assert_eq!(still["approvals"][0]["status"], "pending", "{still}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let a = Api::a();
    for path in [
        "/",
        "/nowhere",
        "/runs/r-1/other",
        "/runs/has%20space",
        "/runs/never-existed-0000",
        "/runs/never-existed-0000/timeline",
        "/runs/never-existed-0000/logs",
        "/approvals/submit/extra",
    ] {
        let reply = a.get(path).await;
        assert_eq!(reply.error(), (404, "not_found", None), "GET {path}");
    }
    let long = format!("/runs/{}", "x".repeat(81));
    assert_eq!(a.get(&long).await.status, 404);
    assert_eq!(a.delete("/runs/never-existed-0000").await.status, 404);
    for (method, path, allow) in [
        ("POST", "/runs", "GET"),
        ("GET", "/runs/start", "POST"),
        ("PUT", "/runs/r-1", "GET, DELETE"),
        ("PATCH", "/runs/r-1", "GET, DELETE"),
        ("POST", "/runs/r-1/timeline", "GET"),
        ("DELETE", "/runs/r-1/logs", "GET"),
        ("GET", "/approvals/submit", "POST"),
        ("DELETE", "/approvals", "GET"),
    ] {
        let reply = a.call(method, path).await;
        assert_eq!(
            reply.error(),
            (405, "method_not_allowed", None),
            "{method} {path}"
        );
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
}

/// A tenant made for one test alone, so what it reads is only what that test did.
async fn fresh_tenant(label: &str) -> Api {
    let tenant = format!(
        "e2e-{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let key = tokio::task::spawn_blocking(move || create_api_key(&tenant))
        .await
        .expect("a key");
    Api::with_key(&key)
}

fn listed<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|a| a["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

#[tokio::test]
async fn the_registry_lists_every_agent_with_true_schemas_and_health_from_the_tenants_runs() {
    switchyard_agents::link();
    let (runner, other) = tokio::join!(fresh_tenant("agents"), fresh_tenant("agents-other"));

    // Every agent the binary serves, with schemas, before this tenant ran anything.
    let before = runner.get("/agents").await;
    assert_eq!(before.status, 200, "{}", before.body);
    let agents = before.body["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), switchyard_sdk::agents().len());
    for agent in agents {
        for key in ["input_schema", "output_schema"] {
            assert_eq!(
                agent[key]["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{agent}"
            );
        }
        assert_eq!(agent["health"]["attempts"], 0, "{agent}");
    }

    // A run with two retried failures, a caught one and a map; and the dev-team DAG.
    let self_test = runner
        .start(
            json!({ "workflow": "self-test", "input": { "fail_times": 2, "numbers": [1, 2, 3] } }),
        )
        .await;
    let dev_team = runner
        .start(json!({ "workflow": "dev-team", "input": example("dev-team") }))
        .await;
    let (self_test, dev_team) =
        tokio::join!(runner.finished(&self_test), runner.finished(&dev_team));
    assert_eq!(self_test["status"], "succeeded", "{self_test}");
    assert_eq!(dev_team["status"], "succeeded", "{dev_team}");

    let after = runner.get("/agents?workflow=self-test").await;
    assert_eq!(after.status, 200, "{}", after.body);
    let flaky = &listed(&after.body, "flaky")["health"];
    assert_eq!(
        (&flaky["attempts"], &flaky["succeeded"], &flaky["failed"]),
        (&json!(3), &json!(1), &json!(2)),
        "{flaky}"
    );
    assert!((number(&flaky["success_rate"], "success rate") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(flaky["last_error"]["error"], "Agent.Retryable", "{flaky}");
    let fails = &listed(&after.body, "always_fails")["health"];
    assert_eq!(
        (&fails["attempts"], &fails["success_rate"]),
        (&json!(1), &json!(0.0))
    );
    assert_eq!(fails["last_error"]["error"], "Agent.Permanent", "{fails}");
    assert_eq!(
        fails["last_error"]["run_id"], self_test["run_id"],
        "{fails}"
    );
    let square = &listed(&after.body, "square")["health"];
    assert_eq!(
        (&square["attempts"], &square["success_rate"]),
        (&json!(3), &json!(1.0))
    );
    assert!(square["latency_ms"]["p95"].as_u64().is_some(), "{square}");
    // The filter keeps the workflow's agents only.
    assert!(after.body["agents"]
        .as_array()
        .is_some_and(|a| a.iter().all(|a| a["workflows"]
            .as_array()
            .is_some_and(|w| w.contains(&json!("self-test"))))));

    // The published schema of the agent that ended the dev-team run (QA passed, so the
    // debugger's `.when` skipped it) accepts what the deployed agent wrote, and refuses it
    // with a key renamed.
    let qa = runner.get("/agents/qa_engineer").await;
    assert_eq!(qa.status, 200, "{}", qa.body);
    assert_eq!(qa.body["health"]["succeeded"], 1, "{}", qa.body);
    let schema = jsonschema::validator_for(&qa.body["output_schema"]).expect("a schema");
    let output = &dev_team["output"];
    let errors: Vec<String> = schema.iter_errors(output).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{output}: {errors:?}");
    let mut renamed = output.clone();
    if let Some(object) = renamed.as_object_mut() {
        let (key, value) = object
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .expect("a field");
        object.remove(&key);
        object.insert(format!("{key}_renamed"), value);
    }
    assert!(!schema.is_valid(&renamed), "{renamed}");

    // Another tenant's view of the same agents holds none of it.
    let theirs = other.get("/agents/flaky").await;
    assert_eq!(theirs.body["health"]["attempts"], 0, "{}", theirs.body);
    let unknown = runner.get("/agents/flakey").await;
    assert_eq!(unknown.error(), (404, "not_found", None));
}

/// The AI Orchestra service's example: a tech lead plans, frontend ‖ backend build, QA tests
/// the pair, a debugger fixes what QA found; roles are agents' names or capabilities.
fn orchestra_example() -> Value {
    json!({
        "workflow_type": "graph",
        "agents": [
            { "agent_id": "lead", "agent_role": "planning" },
            { "agent_id": "frontend", "agent_role": "frontend_dev", "depends_on": ["lead"] },
            { "agent_id": "backend", "agent_role": "backend", "depends_on": ["lead"] },
            { "agent_id": "qa", "agent_role": "testing", "depends_on": ["frontend", "backend"] },
            { "agent_id": "debugger", "agent_role": "debugging", "depends_on": ["qa"] },
        ],
        "input": example("dev-team"),
    })
}

#[tokio::test]
async fn graphs_sent_as_json_run_like_declared_workflows() {
    let stack = Stack::connect().await;
    let runner = fresh_tenant("graphs").await;

    // The AI Orchestra example, in its own request shape.
    let orchestra = runner.post("/run-graph", &orchestra_example()).await;
    assert_eq!(orchestra.status, 202, "{}", orchestra.body);
    assert_eq!(
        orchestra.body["stages"],
        json!([["lead"], ["frontend", "backend"], ["qa"], ["debugger"]])
    );
    let orchestra_run = orchestra.body["execution_id"]
        .as_str()
        .expect("an id")
        .to_owned();

    // A sequential and a parallel graph.
    let sequential = runner
        .post(
            "/graphs/run",
            &json!({
                "graph": { "workflow_type": "sequential", "nodes": [
                    { "id": "plan", "agent": "tech_lead" },
                    { "id": "build", "agent": "frontend_dev" },
                ]},
                "input": example("dev-team"),
            }),
        )
        .await;
    assert_eq!(sequential.status, 202, "{}", sequential.body);
    let parallel_graph = json!({
        "graph": { "workflow_type": "parallel", "nodes": [
            { "id": "total", "agent": "sum" },
            { "id": "max", "agent": "largest" },
        ]},
        "input": [3, 1, 2],
    });
    let parallel = runner.post("/graphs/run", &parallel_graph).await;
    assert_eq!(parallel.status, 202, "{}", parallel.body);

    let ids = [
        orchestra_run.clone(),
        sequential.body["run_id"].as_str().expect("id").to_owned(),
        parallel.body["run_id"].as_str().expect("id").to_owned(),
    ];
    let (orchestra_done, sequential_done, parallel_done) = tokio::join!(
        runner.finished(&ids[0]),
        runner.finished(&ids[1]),
        runner.finished(&ids[2])
    );
    for run in [&orchestra_done, &sequential_done, &parallel_done] {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    // QA passed the pair, so the debugger fixed nothing and kept both changes.
    assert_eq!(
        orchestra_done["output"]["fixed"],
        json!([]),
        "{orchestra_done}"
    );
    assert_eq!(
        orchestra_done["output"]["changes"].as_array().map(Vec::len),
        Some(2)
    );
    let steps: BTreeSet<&str> = orchestra_done["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(
        steps,
        BTreeSet::from(["lead", "frontend", "backend", "qa", "debugger"])
    );
    assert_eq!(
        sequential_done["output"]["component"], "frontend",
        "{sequential_done}"
    );
    assert_eq!(parallel_done["output"], json!([6, 3]));

    // Graph runs are runs: listed under their workflow, with the rest of the tenant's.
    let workflow = parallel.body["workflow"].as_str().expect("a name");
    let listed = runner.get(&format!("/runs?workflow={workflow}")).await;
    assert_eq!(run_ids(&listed.body), vec![ids[2].clone()]);

    // The same graph again: the same state machine, not a new one.
    let again = runner.post("/graphs/run", &parallel_graph).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(
        (
            &again.body["workflow"],
            &again.body["state_machine_created"]
        ),
        (&parallel.body["workflow"], &json!(false))
    );
    let machine = parallel.body["state_machine"].as_str().expect("a name");
    let mut named = 0;
    let mut pages = stack.sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("state machines");
        named += page
            .state_machines()
            .iter()
            .filter(|m| m.name() == machine)
            .count();
    }
    assert_eq!(named, 1, "one state machine per distinct graph");
    let again_run = again.body["run_id"].as_str().expect("an id");
    assert_eq!(runner.finished(again_run).await["output"], json!([6, 3]));
}

#[tokio::test]
async fn a_graph_that_cannot_run_is_a_400_at_its_node_and_starts_nothing() {
    let runner = fresh_tenant("bad-graphs").await;
    let dev_team =
        |nodes: Value| json!({ "graph": { "nodes": nodes }, "input": example("dev-team") });
    let good = || {
        json!([
            { "id": "plan", "agent": "tech_lead" },
            { "id": "frontend", "agent": "frontend_dev", "depends_on": ["plan"] },
            { "id": "backend", "agent": "backend_dev", "depends_on": ["plan"] },
            { "id": "qa", "agent": "qa_engineer", "depends_on": ["frontend", "backend"] },
        ])
    };
    let with = |node: usize, key: &str, value: Value| {
        let mut nodes = good();
        nodes[node][key] = value;
        dev_team(nodes)
    };
    let mut ambiguous = good();
    ambiguous[1] = json!({ "id": "frontend", "capability": "copywriting", "depends_on": ["plan"] });
    let ambiguous = dev_team(ambiguous);
    let many: Vec<Value> = (0..101)
        .map(|i| json!({ "id": format!("n{i}"), "agent": "tech_lead" }))
        .collect();
    let cases = [
        (
            "unknown agent",
            with(1, "agent", json!("frontend_dve")),
            "/graph/nodes/1/agent",
            "did you mean `frontend_dev`",
        ),
        (
            "cycle",
            with(0, "depends_on", json!(["qa"])),
            "/graph/nodes/",
            "cycle",
        ),
        (
            "missing dependency",
            with(3, "depends_on", json!(["frontend", "backed"])),
            "/graph/nodes/3/depends_on/1",
            "not a node of this graph",
        ),
        (
            "type mismatch",
            with(3, "depends_on", json!(["plan"])),
            "/graph/nodes/3",
            "cannot flow into a step that takes",
        ),
        (
            "capability offered by several",
            ambiguous,
            "/graph/nodes/1/capability",
            "offered by 3 agents",
        ),
        (
            "over the limits",
            dev_team(json!(many)),
            "/graph/nodes",
            "at most 100 nodes",
        ),
        (
            "a name Step Functions refuses",
            dev_team(json!([{ "id": "p".repeat(81), "agent": "tech_lead" }])),
            "/graph/nodes/0",
            "80",
        ),
        (
            "input that does not fit",
            json!({ "graph": { "nodes": good() }, "input": { "feature": 1 } }),
            "/input/feature",
            "does not fit",
        ),
    ];
    for (what, body, pointer, says) in cases {
        let reply = runner.post("/graphs/run", &body).await;
        let (status, code, field) = reply.error();
        assert_eq!(
            (status, code),
            (400, "invalid_graph"),
            "{what}: {}",
            reply.body
        );
        let field = field.unwrap_or_default();
        assert!(
            field.starts_with(pointer),
            "{what}: field {field}, expected {pointer}"
        );
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    let mut orchestra = orchestra_example();
    orchestra["agents"][4]["depends_on"] = json!(["nobody"]);
    let reply = runner.post("/run-graph", &orchestra).await;
    assert_eq!(
        reply.error(),
        (400, "invalid_graph", Some("/agents/4/depends_on/0")),
        "{}",
        reply.body
    );
    // Nothing was started for this tenant.
    let runs = runner.get("/runs").await;
    assert_eq!(run_ids(&runs.body), Vec::<String>::new(), "{}", runs.body);
}
