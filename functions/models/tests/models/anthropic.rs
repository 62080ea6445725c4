use serde_json::json;
use switchyard_models::{Anthropic, Price};
use switchyard_sdk::{Completion, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    assert_close, assert_malformed, assert_provider, assert_temperature, assert_throttled,
    assert_transport, prompt,
};

fn message_answer() -> serde_json::Value {
    json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [
            {"type": "text", "text": "A warm lead"},
            {"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {}},
            {"type": "text", "text": ", worth a call."}
        ],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 2000, "output_tokens": 500}
    })
}

fn error_answer(kind: &str, message: &str) -> serde_json::Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

async fn complete(
    response: MockResponse,
    prompt: &Prompt,
) -> (MockServer, Result<Completion, ModelError>) {
    let server = MockServer::start(response).await;
    let model = Anthropic::new(
        &server.url,
        "sk-ant-test",
        "claude-3-5-haiku-latest",
        Price::for_model("claude-3-5-haiku-latest").expect("listed"),
    )
    .expect("client builds");
    let result = model.complete(prompt).await;
    (server, result)
}

#[tokio::test]
async fn sends_a_message_and_reads_text_blocks_tokens_and_cost() {
    let (server, result) = complete(MockResponse::json(200, &message_answer()), &prompt()).await;
    let completion = result.expect("completes");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("authorization"), None);
    let body = request.json();
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    assert_eq!(body["system"], "You are terse.");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Summarise the lead."}])
    );
    assert_eq!(body["max_tokens"], 256);
    assert_temperature(&body["temperature"], 0.7);

    assert_eq!(completion.text, "A warm lead, worth a call.");
    assert_eq!(completion.model, "anthropic:claude-3-5-haiku-latest");
    assert_eq!((completion.tokens_in, completion.tokens_out), (2000, 500));
    // 2000 × $0.80/M + 500 × $4.00/M
    assert_close(completion.cost_usd, 0.003_6);
}

#[tokio::test]
async fn an_empty_system_prompt_is_left_out() {
    let prompt = Prompt {
        system: String::new(),
        ..prompt()
    };
    let (server, result) = complete(MockResponse::json(200, &message_answer()), &prompt).await;
    result.expect("completes");
    assert!(server.only_request().json().get("system").is_none());
}

#[tokio::test]
async fn http_429_is_throttling() {
    let body = error_answer(
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit",
    );
    let (_, result) = complete(MockResponse::json(429, &body), &prompt()).await;
    assert_throttled(&result.expect_err("throttled"));
}

#[tokio::test]
async fn overloaded_is_a_retryable_provider_error() {
    // Anthropic's own "overloaded" status, outside the standard range.
    let body = error_answer("overloaded_error", "Overloaded");
    let (_, result) = complete(MockResponse::json(529, &body), &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 529, "Overloaded");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn http_500_is_a_retryable_provider_error() {
    let body = error_answer("api_error", "Internal server error");
    let (_, result) = complete(MockResponse::json(500, &body), &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 500, "Internal server error");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn http_400_is_a_permanent_provider_error() {
    let body = error_answer("invalid_request_error", "max_tokens: 999999 > 8192");
    let (_, result) = complete(MockResponse::json(400, &body), &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 400, "max_tokens: 999999 > 8192");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_200_without_usage_is_malformed() {
    let mut answer = message_answer();
    answer.as_object_mut().expect("object").remove("usage");
    let (_, result) = complete(MockResponse::json(200, &answer), &prompt()).await;
    assert_malformed(&result.expect_err("fails"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let model = Anthropic::new(
        &closed_url().await,
        "sk-ant-test",
        "claude-3-5-haiku-latest",
        Price::default(),
    )
    .expect("client builds");
    assert_transport(&model.complete(&prompt()).await.expect_err("fails"));
}
