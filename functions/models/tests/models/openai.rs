use serde_json::json;
use switchyard_models::{OpenAiCompatible, Price};
use switchyard_sdk::{Completion, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    assert_close, assert_malformed, assert_provider, assert_temperature, assert_throttled,
    assert_transport, prompt,
};

fn chat_answer() -> serde_json::Value {
    json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "A warm lead.", "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}
    })
}

/// Completes `prompt` against a mock answering `response`, with the base URL given the
/// trailing slash people often paste.
async fn complete(
    response: MockResponse,
    prompt: &Prompt,
) -> (MockServer, Result<Completion, ModelError>) {
    let server = MockServer::start(response).await;
    let model = OpenAiCompatible::new(
        &format!("{}/v1/", server.url),
        "sk-test",
        "gpt-4o-mini",
        Price::for_model("gpt-4o-mini").expect("listed"),
    )
    .expect("client builds");
    let result = model.complete(prompt).await;
    (server, result)
}

#[tokio::test]
async fn sends_a_chat_completion_and_reads_text_tokens_and_cost() {
    let (server, result) = complete(MockResponse::json(200, &chat_answer()), &prompt()).await;
    let completion = result.expect("completes");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Summarise the lead."}
        ])
    );
    assert_eq!(body["max_tokens"], 256);
    assert_temperature(&body["temperature"], 0.7);

    assert_eq!(completion.text, "A warm lead.");
    assert_eq!(completion.model, "openai:gpt-4o-mini");
    assert_eq!((completion.tokens_in, completion.tokens_out), (1200, 300));
    // 1200 × $0.15/M + 300 × $0.60/M
    assert_close(completion.cost_usd, 0.000_36);
}

#[tokio::test]
async fn an_empty_system_prompt_sends_only_the_user_message() {
    let prompt = Prompt {
        system: String::new(),
        ..prompt()
    };
    let (server, result) = complete(MockResponse::json(200, &chat_answer()), &prompt).await;
    result.expect("completes");
    assert_eq!(
        server.only_request().json()["messages"],
        json!([{"role": "user", "content": "Summarise the lead."}])
    );
}

#[tokio::test]
async fn http_429_is_throttling() {
    let body = json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}});
    let (_, result) = complete(MockResponse::json(429, &body), &prompt()).await;
    assert_throttled(&result.expect_err("throttled"));
}

#[tokio::test]
async fn http_500_is_a_retryable_provider_error() {
    let body = json!({"error": {"message": "The server had an error", "type": "server_error"}});
    let (_, result) = complete(MockResponse::json(500, &body), &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 500, "The server had an error");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn http_400_is_a_permanent_provider_error() {
    let body = json!({"error": {"message": "max_tokens is too large", "type": "invalid_request_error", "param": "max_tokens"}});
    let (_, result) = complete(MockResponse::json(400, &body), &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 400, "max_tokens is too large");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_error_body_that_is_not_json_is_kept_as_text() {
    let response = MockResponse::new(502, &[], "<html>Bad Gateway</html>");
    let (_, result) = complete(response, &prompt()).await;
    assert_provider(&result.expect_err("fails"), 502, "Bad Gateway");
}

#[tokio::test]
async fn a_200_without_choices_text_is_malformed() {
    let (_, result) = complete(
        MockResponse::new(200, &[], "{\"choices\": \"soon\""),
        &prompt(),
    )
    .await;
    assert_malformed(&result.expect_err("fails"));

    let mut refusal = chat_answer();
    refusal["choices"][0]["message"]["content"] = serde_json::Value::Null;
    let (_, result) = complete(MockResponse::json(200, &refusal), &prompt()).await;
    assert_malformed(&result.expect_err("fails"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let model = OpenAiCompatible::new(
        &closed_url().await,
        "sk-test",
        "gpt-4o-mini",
        Price::default(),
    )
    .expect("client builds");
    assert_transport(&model.complete(&prompt()).await.expect_err("fails"));
}
