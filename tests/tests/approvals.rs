//! Approval gates over real HTTP: signed links to the callback Function URL, against the
//! live local stack. Every refused request must leave the run and the approvals table as
//! they were.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{json, Value};
use switchyard_e2e::{function_url_client, link_secret, run_id, Record, Stack};
use switchyard_lambda::approval::links::LinkSigner;

const LIMIT: Duration = Duration::from_secs(90);

struct Links {
    client: reqwest::Client,
    signer: LinkSigner,
}

impl Links {
    fn new(stack: &Stack) -> Links {
        let base = stack
            .deployment
            .approval_callback_url
            .clone()
            .expect("deployment has the callback URL");
        Links {
            client: function_url_client(&base),
            signer: LinkSigner::new(link_secret().as_bytes(), &base)
                .expect("secret is long enough"),
        }
    }

    fn link(approval: &Record, decision: &str) -> String {
        approval["links"][decision]
            .as_str()
            .unwrap_or_else(|| panic!("no `{decision}` link in {approval:?}"))
            .to_owned()
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .expect("GET reaches the callback");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    /// POSTs the confirmation form, asking for JSON.
    async fn post(&self, url: &str, approver: &str, notes: &str) -> (u16, Value) {
        let response = self
            .client
            .post(url)
            .header("accept", "application/json")
            .form(&[("approver", approver), ("notes", notes)])
            .send()
            .await
            .expect("POST reaches the callback");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The request's stored fields that a refused decision must not touch.
fn decision_state(record: &Record) -> (Value, Value, Value) {
    (
        record.get("status").cloned().unwrap_or_default(),
        record.get("decided_by").cloned().unwrap_or_default(),
        record.get("decision").cloned().unwrap_or_default(),
    )
}

async fn current(stack: &Stack, run: &str, request_id: &Value) -> Record {
    stack
        .approvals(run)
        .await
        .into_iter()
        .find(|a| &a["request_id"] == request_id)
        .expect("the request is still there")
}

#[tokio::test]
async fn campaign_pauses_at_each_gate_and_resumes_when_links_are_posted() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated(
            "campaign-creation",
            "tenant-gates",
            json!({ "brand_id": "acme", "selected_month": "2024-11" }),
        )
        .await;
    let run = run_id(&execution).to_owned();
    for gate in ["approve_strategy", "approve_content", "approve_deployment"] {
        let approval = stack.pending_approval(&run, gate).await;
        assert_eq!(
            stack.status(&execution).await,
            ExecutionStatus::Running,
            "paused at {gate}"
        );
        let url = Links::link(&approval, "approve");
        // What a mail scanner does: fetch the link. It shows a page and changes nothing.
        let (status, page) = links.get(&url).await;
        assert_eq!(status, 200);
        assert!(page.contains("<form method=\"post\""), "{page}");
        assert!(page.contains(approval["subject"].as_str().unwrap_or_default()));
        // The strategy gate declares a summary: the page shows it first, every field valued.
        if gate == "approve_strategy" {
            let labels: Vec<&str> = approval["summary_fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["value"].is_string())
                .filter_map(|f| f["label"].as_str())
                .collect();
            assert_eq!(labels, ["Objective", "Month", "Segments", "Calendar"]);
            assert!(
                page.contains("<dl class=\"fields\"><dt>Objective</dt>"),
                "{page}"
            );
            assert!(page.contains("<dt>Month</dt><dd>2024-11</dd>"), "{page}");
        } else {
            assert!(!approval.contains_key("summary_fields"), "{approval:?}");
            assert!(!page.contains("<dl class=\"fields\">"), "{page}");
        }
        assert_eq!(
            current(&stack, &run, &approval["request_id"]).await["status"],
            "pending"
        );
        let (status, body) = links
            .post(&url, "ada@acme.test", &format!("ok for {gate}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "approved");
        let decided = current(&stack, &run, &approval["request_id"]).await;
        assert_eq!(decided["decided_by"], "ada@acme.test");
        assert_eq!(decided["notes"], format!("ok for {gate}"));
        assert!(decided["decided_at"].as_f64().is_some());
    }
    let finished = stack.wait(&execution, LIMIT).await;
    assert!(finished.succeeded()["deployment_id"].is_string());
}

#[tokio::test]
async fn bad_and_hostile_requests_are_refused_and_change_nothing() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated(
            "campaign-creation",
            "tenant-gates",
            json!({ "brand_id": "acme", "selected_month": "2024-12" }),
        )
        .await;
    let run = run_id(&execution).to_owned();
    let approval = stack.pending_approval(&run, "approve_strategy").await;
    let request_id = approval["request_id"].as_str().expect("id").to_owned();
    let before = decision_state(&approval);
    let approve = Links::link(&approval, "approve");
    let expires = approval["expires_at"].as_f64().expect("expiry") as u64;

    // Tampered signature.
    let tampered = format!("{}x", approve);
    assert_eq!(links.post(&tampered, "eve", "").await.0, 403);
    // A decision swapped into a link signed for another.
    let swapped = approve.replace("decision=approve", "decision=reject");
    assert_eq!(links.post(&swapped, "eve", "").await.0, 403);
    // Expired link (validly signed, in the past).
    let expired = links.signer.link(&request_id, "approve", 1_000);
    let (status, body) = links.post(&expired, "ada", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (410, Some("link_expired"))
    );
    // Unknown request.
    let unknown = links
        .signer
        .link(&uuid::Uuid::new_v4().to_string(), "approve", expires);
    assert_eq!(links.post(&unknown, "ada", "").await.0, 404);
    // A decision the gate does not offer.
    let maybe = links.signer.link(&request_id, "maybe", expires);
    let (status, body) = links.post(&maybe, "ada", "").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("decision")));
    // Nothing above changed the request or the run.
    assert_eq!(
        decision_state(&current(&stack, &run, &approval["request_id"]).await),
        before
    );
    assert_eq!(stack.status(&execution).await, ExecutionStatus::Running);

    // Two concurrent POSTs of different decisions: exactly one wins.
    let reject = Links::link(&approval, "reject");
    let (a, b) = tokio::join!(
        links.post(&approve, "ada", ""),
        links.post(&reject, "bob", "")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let loser = if a.0 == 409 { &a.1 } else { &b.1 };
    assert!(
        loser["decided_by"] == "ada" || loser["decided_by"] == "bob",
        "409 says who decided: {loser}"
    );
    // Reused link: already decided, same or other decision.
    let (status, body) = links.post(&approve, "carol", "").await;
    assert_eq!(status, 409);
    assert!(body["decided_at"].as_f64().is_some());
    // The run resumed exactly once at this gate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let history = stack.history(&execution).await;
    let resumed = history
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::TaskSucceeded)
        .filter(|e| {
            e.task_succeeded_event_details().is_some_and(|d| {
                d.resource_type() == "lambda" && d.resource().contains("waitForTaskToken")
            })
        })
        .count();
    assert_eq!(resumed, 1);
    let _ = stack
        .sfn
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await;
}

#[tokio::test]
async fn only_designated_approvers_may_decide() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let request = json!({
        "request_id": "R-9", "department": "ops", "requester": "ada",
        "items": [{ "description": "Forklift", "quantity": 1, "unit_price": 12000.0 }]
    });
    let execution = stack
        .start_gated("enterprise-coordinator", "tenant-gates", request)
        .await;
    let run = run_id(&execution).to_owned();
    let approval = stack.pending_approval(&run, "finance_approval").await;
    let request_id = approval["request_id"].as_str().expect("id").to_owned();
    // No shared links on the request: each designated approver was emailed their own.
    assert!(
        approval
            .get("links")
            .is_none_or(|l| l.as_object().is_none_or(|m| m.is_empty())),
        "{approval:?}"
    );
    // The request is stored before its emails go out: wait for them.
    let for_this_request = |m: &serde_json::Value| {
        m["Body"]["text_part"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("approvals/{request_id}?")))
    };
    let mut emails = stack.ses_messages().await;
    for _ in 0..60 {
        if emails.iter().any(for_this_request) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        emails = stack.ses_messages().await;
    }
    let email = emails
        .iter()
        .find(|m| for_this_request(m))
        .unwrap_or_else(|| {
            panic!(
                "no approval email for {request_id} among {} messages",
                emails.len()
            )
        });
    assert_eq!(
        email["Destination"]["ToAddresses"][0],
        "finance@switchyard.test"
    );
    assert_eq!(email["Source"], "approvals@switchyard.test");
    let text = email["Body"]["text_part"].as_str().unwrap_or_default();
    // The finance gate's summary, read from its input (serde's keys), on the request and in
    // the email.
    let fields: Vec<(&str, Value)> = approval["summary_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let value = f["value"]
                .as_str()
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or(Value::Null);
            (f["label"].as_str().unwrap_or_default(), value)
        })
        .collect();
    assert_eq!(fields[0].0, "Total (USD)");
    assert_eq!(fields[0].1.as_f64(), Some(12000.0));
    assert_eq!(fields[2], ("Department", json!("ops")));
    assert_eq!(fields[3], ("Requester", json!("ada")));
    assert!(text.contains("Department: ops\nRequester: ada\n"), "{text}");
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("approve: "))
        .expect("an approve link in the email")
        .trim()
        .to_owned();
    assert!(url.contains("approver=finance%40switchyard.test"), "{url}");
    // The approver is inside the signature: the link cannot be moved to another name.
    let moved = url.replace("finance%40switchyard.test", "mallory%40evil.test");
    assert_eq!(links.post(&moved, "mallory@evil.test", "").await.0, 403);
    // A shared (undesignated) link with the CFO's name typed in is not the CFO.
    let expires = approval["expires_at"].as_f64().expect("expiry") as u64;
    let shared = links.signer.link(&request_id, "approve", expires);
    let (status, body) = links.post(&shared, "finance@switchyard.test", "").await;
    assert_eq!((status, body["field"].as_str()), (403, Some("approver")));
    assert_eq!(
        current(&stack, &run, &approval["request_id"]).await["status"],
        "pending"
    );
    // The approver's own link decides as them, whatever is typed.
    let (status, body) = links.post(&url, "someone else", "within budget").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["decided_by"].as_str(),
            body["approver_verified"].as_bool()
        ),
        (Some("finance@switchyard.test"), Some(true))
    );
    assert_eq!(
        stack.wait(&execution, LIMIT).await.succeeded()["purchase_order"],
        "PO-R-9"
    );
}

#[tokio::test]
async fn a_reject_at_the_content_gate_takes_the_declared_rework_path() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated(
            "campaign-creation",
            "tenant-gates",
            json!({ "brand_id": "globex", "selected_month": "2024-10" }),
        )
        .await;
    let run = run_id(&execution).to_owned();
    let strategy = stack.pending_approval(&run, "approve_strategy").await;
    assert_eq!(
        links
            .post(&Links::link(&strategy, "approve"), "ada", "")
            .await
            .0,
        200
    );
    let content = stack.pending_approval(&run, "approve_content").await;
    assert_eq!(
        links
            .post(&Links::link(&content, "reject"), "ada", "needs work")
            .await
            .0,
        200
    );
    // The rework loop revises and asks again: a second, new request at the same gate.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let again = loop {
        let pending = stack.pending_approval(&run, "approve_content").await;
        if pending["request_id"] != content["request_id"] {
            break pending;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let entered = {
        let history = stack.history(&execution).await;
        history
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        entered.contains(&"rework".to_owned()) && entered.contains(&"revise".to_owned()),
        "{entered:?}"
    );
    assert_eq!(
        links
            .post(&Links::link(&again, "approve"), "ada", "")
            .await
            .0,
        200
    );
    let deployment = stack.pending_approval(&run, "approve_deployment").await;
    assert_eq!(
        links
            .post(&Links::link(&deployment, "approve"), "ada", "")
            .await
            .0,
        200
    );
    stack.wait(&execution, LIMIT).await.succeeded();
}

#[tokio::test]
async fn a_gate_timeout_takes_the_declared_path_and_expires_the_request() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated("gate-test", "tenant-gates", json!({ "topic": "slow" }))
        .await;
    let run = run_id(&execution).to_owned();
    let approval = stack.pending_approval(&run, "ask").await;
    let finished = stack.wait(&execution, LIMIT).await;
    assert_eq!(finished.succeeded()["path"], "timed-out");
    assert_eq!(
        current(&stack, &run, &approval["request_id"]).await["status"],
        "expired"
    );
    // A link clicked too late cannot resume anything.
    let (status, _) = links
        .post(&Links::link(&approval, "approve"), "ada", "")
        .await;
    assert_eq!(status, 410);
}

#[tokio::test]
async fn a_reject_link_routes_to_the_declared_reject_path() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated("gate-test", "tenant-gates", json!({ "topic": "no" }))
        .await;
    let approval = stack.pending_approval(run_id(&execution), "ask").await;
    assert_eq!(
        links
            .post(&Links::link(&approval, "reject"), "ada", "not now")
            .await
            .0,
        200
    );
    assert_eq!(
        stack.wait(&execution, LIMIT).await.succeeded()["path"],
        "rejected"
    );
}

#[tokio::test]
async fn the_pick_one_of_four_gate_delivers_the_chosen_concept() {
    let stack = Stack::connect().await;
    let links = Links::new(&stack);
    let execution = stack
        .start_gated("movie-production", "tenant-gates", json!({ "title": "Tides", "logline": "A lighthouse keeper", "genre": "drama", "episodes": 2 }))
        .await;
    let run = run_id(&execution).to_owned();
    let approval = stack.pending_approval(&run, "pick_concept").await;
    let offered: Vec<&String> = approval["links"]
        .as_object()
        .expect("links")
        .keys()
        .collect();
    assert_eq!(offered.len(), 5, "four concepts and reject: {offered:?}");
    assert_eq!(
        links
            .post(&Links::link(&approval, "concept-3"), "director", "")
            .await
            .0,
        200
    );
    let finished = stack.wait(&execution, LIMIT).await;
    finished.succeeded();
    let cast = finished
        .history
        .iter()
        .filter_map(|e| e.state_exited_event_details())
        .find(|d| d.name() == "characters")
        .and_then(|d| d.output().map(str::to_owned))
        .expect("characters ran");
    let cast: Value = serde_json::from_str(&cast).expect("state output is JSON");
    assert_eq!(cast["data"]["concept"], "concept-3");
}
