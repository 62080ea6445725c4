//! A decision and the resume it causes stay consistent when Step Functions fails: the
//! request is left `deciding` (never `approved` over a run still waiting), a retry completes
//! it with the recorded decision, and a gate that times out meanwhile expires it. Step
//! Functions here is a local server that fails on demand; the approvals table is the
//! deployed one in DynamoDB Local.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchyard_e2e::Stack;
use switchyard_lambda::approval::{
    now_secs, ApprovalStore, Approver, DecisionError, DecisionRequest,
};
use switchyard_state::{ApprovalRecord, ApprovalStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A Step Functions endpoint that answers 500 while `failing`, else `{}`; it keeps the
/// bodies it was sent.
struct FakeStepFunctions {
    url: String,
    failing: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl FakeStepFunctions {
    async fn start() -> FakeStepFunctions {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let failing = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (f, c, b) = (failing.clone(), calls.clone(), bodies.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (f, c, b) = (f.clone(), c.clone(), b.clone());
                tokio::spawn(async move {
                    let body = read_request(&mut socket).await;
                    c.fetch_add(1, Ordering::SeqCst);
                    b.lock().expect("bodies").push(body);
                    let (status, answer) = if f.load(Ordering::SeqCst) {
                        (
                            "500 Internal Server Error",
                            r#"{"__type":"ServiceUnavailable","message":"injected failure"}"#,
                        )
                    } else {
                        ("200 OK", "{}")
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        FakeStepFunctions {
            url,
            failing,
            calls,
            bodies,
        }
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = socket.read(&mut buffer).await {
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return body.to_owned();
            }
        }
        if n == 0 {
            break;
        }
    }
    String::new()
}

async fn store(stack: &Stack, sfn_url: &str) -> ApprovalStore {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(stack.deployment.region.clone()))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "e2e",
        ))
        .load()
        .await;
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&config)
            .endpoint_url(sfn_url)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    ApprovalStore::new(stack.state.clone(), sfn)
}

/// A pending request of a made-up run, stored as the approval-request function stores it.
async fn pending(stack: &Stack) -> (String, String) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let run_id = format!("run-{}", uuid::Uuid::new_v4());
    let now = now_secs();
    let record = ApprovalRecord {
        request_id: request_id.clone(),
        run_id: run_id.clone(),
        tenant_id: "tenant-resume".into(),
        workflow: "gate-test".into(),
        gate: "ask".into(),
        subject: "Resume test".into(),
        summary: "{}".into(),
        on_reject: Some("rejected".into()),
        status: ApprovalStatus::Pending,
        created_at: now,
        expires_at: now + 600,
        ..ApprovalRecord::default()
    };
    stack
        .state
        .approvals()
        .create(&record, &format!("token-{request_id}"))
        .await
        .expect("a pending request is stored");
    (request_id, run_id)
}

fn decision(request_id: &str, decision: &str, who: &str) -> DecisionRequest {
    DecisionRequest {
        request_id: request_id.to_owned(),
        decision: decision.into(),
        approver: Approver::typed(Some(who.to_owned())),
        notes: None,
    }
}

async fn state(
    store: &ApprovalStore,
    request_id: &str,
) -> (ApprovalStatus, Option<String>, Option<String>) {
    let record = store.get(request_id).await.expect("the request");
    (
        record.status,
        record.decision.map(String::from),
        record.decided_by,
    )
}

#[tokio::test]
async fn a_failed_resume_leaves_the_request_deciding_and_a_retry_completes_it() {
    let stack = Stack::connect().await;
    let sfn = FakeStepFunctions::start().await;
    let store = store(&stack, &sfn.url).await;
    let (request_id, _) = pending(&stack).await;

    let first = store
        .decide(&decision(&request_id, "approve", "ada"), None)
        .await;
    assert!(
        matches!(first, Err(DecisionError::Resume { .. })),
        "{first:?}"
    );
    assert!(
        sfn.calls.load(Ordering::SeqCst) >= 1,
        "the resume was tried"
    );
    let deciding = (
        ApprovalStatus::Deciding,
        Some("approve".to_owned()),
        Some("ada".to_owned()),
    );
    assert_eq!(
        state(&store, &request_id).await,
        deciding,
        "not approved over a waiting run"
    );

    // Someone else, while the first decision is recorded but not resumed: it stands.
    let other = store
        .decide(&decision(&request_id, "reject", "bob"), None)
        .await;
    assert!(other.is_err(), "{other:?}");
    assert_eq!(state(&store, &request_id).await, deciding);

    // Step Functions is back: the retry resumes the run with the recorded decision.
    sfn.failing.store(false, Ordering::SeqCst);
    let retried = store
        .decide(&decision(&request_id, "approve", "ada"), None)
        .await
        .expect("the retry completes the decision");
    assert_eq!(retried.status, ApprovalStatus::Approved);
    assert_eq!(
        state(&store, &request_id).await,
        (
            ApprovalStatus::Approved,
            Some("approve".to_owned()),
            Some("ada".to_owned())
        )
    );
    let sent = sfn
        .bodies
        .lock()
        .expect("bodies")
        .last()
        .cloned()
        .unwrap_or_default();
    let sent: Value = serde_json::from_str(&sent).expect("a JSON SendTaskSuccess");
    assert_eq!(sent["taskToken"], format!("token-{request_id}"));
    let output: Value =
        serde_json::from_str(sent["output"].as_str().unwrap_or_default()).expect("output");
    assert_eq!(
        (output["decision"].as_str(), output["approver"].as_str()),
        (Some("approve"), Some("ada"))
    );

    let calls = sfn.calls.load(Ordering::SeqCst);
    let again = store
        .decide(&decision(&request_id, "approve", "ada"), None)
        .await;
    assert!(
        matches!(again, Err(DecisionError::AlreadyDecided { .. })),
        "{again:?}"
    );
    assert_eq!(
        sfn.calls.load(Ordering::SeqCst),
        calls,
        "a decided request resumes nothing"
    );
}

#[tokio::test]
async fn a_gate_that_times_out_while_deciding_expires_the_request() {
    let stack = Stack::connect().await;
    let sfn = FakeStepFunctions::start().await;
    let store = store(&stack, &sfn.url).await;
    let (request_id, run_id) = pending(&stack).await;
    let first = store
        .decide(&decision(&request_id, "approve", "ada"), None)
        .await;
    assert!(
        matches!(first, Err(DecisionError::Resume { .. })),
        "{first:?}"
    );
    assert_eq!(state(&store, &request_id).await.0, ApprovalStatus::Deciding);
    // The gate's timeout path expires what is still waiting, decided-but-not-resumed too.
    assert_eq!(
        store
            .expire_open(&run_id, Some("ask"))
            .await
            .expect("expired"),
        1
    );
    assert_eq!(state(&store, &request_id).await.0, ApprovalStatus::Expired);
    let late = store
        .decide(&decision(&request_id, "approve", "ada"), None)
        .await;
    assert!(
        matches!(late, Err(DecisionError::RequestExpired)),
        "{late:?}"
    );
}
