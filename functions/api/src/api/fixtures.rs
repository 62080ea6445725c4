//! An API over the memory backend, two tenants' keys, and the requests the tests send.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Api;
use switchyard_state::SummaryField;

use crate::backend::{ApprovalRecord, ApprovalStatus};
use crate::http::ApiRequest;
use crate::memory::{MemoryBackend, KEY_A, KEY_B};

pub fn api() -> Api<MemoryBackend> {
    switchyard_agents::link();
    Api::new(MemoryBackend::new())
}

pub fn call(api: &Api<MemoryBackend>, request: ApiRequest) -> (u16, Value) {
    let response = futures::executor::block_on(api.handle(request));
    assert_eq!(response.headers["content-type"], "application/json");
    (response.status, response.json_body())
}

pub fn as_a(method: &str, path: &str) -> ApiRequest {
    ApiRequest::new(method, path).with_header("Authorization", &format!("Bearer {KEY_A}"))
}

pub fn as_b(method: &str, path: &str) -> ApiRequest {
    ApiRequest::new(method, path).with_header("x-api-key", KEY_B)
}

pub fn start(api: &Api<MemoryBackend>, body: Value) -> String {
    let (status, answer) = call(api, as_a("POST", "/runs/start").with_body(body.to_string()));
    assert_eq!(status, 202, "{answer}");
    answer["run_id"].as_str().expect("a run id").to_owned()
}

pub fn gate_run(api: &Api<MemoryBackend>) -> String {
    start(
        api,
        json!({ "workflow": "gate-test", "input": { "topic": "t" } }),
    )
}

pub fn arn(api: &Api<MemoryBackend>, run_id: &str) -> String {
    api.backend.state().runs[run_id]
        .execution_arn
        .clone()
        .expect("an execution")
}

pub fn pending(run_id: &str, tenant: &str) -> ApprovalRecord {
    ApprovalRecord {
        request_id: format!("req-{run_id}"),
        run_id: run_id.into(),
        tenant_id: tenant.into(),
        gate: "ask".into(),
        status: ApprovalStatus::Pending,
        created_at: 1,
        links: BTreeMap::from([("approve".into(), "https://cb/approve".into())]),
        summary_fields: vec![SummaryField {
            label: "Total".into(),
            value: Some("12.5".into()),
        }],
        ..ApprovalRecord::default()
    }
}
