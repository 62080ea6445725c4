use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider};
use serde_json::json;
use switchyard_models::{BedrockConverse, Price};
use switchyard_sdk::{Completion, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    assert_close, assert_malformed, assert_provider, assert_temperature, assert_throttled,
    assert_transport, prompt,
};

const MODEL_ID: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// An explicit configuration, so the tests neither read nor change the process
/// environment (region, credentials, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`).
fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        )))
        .endpoint_url(endpoint)
        .build()
}

fn converse_answer() -> serde_json::Value {
    json!({
        "output": {"message": {"role": "assistant", "content": [
            {"text": "A warm lead"},
            {"text": ", worth a call."}
        ]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200},
        "metrics": {"latencyMs": 321}
    })
}

/// How Bedrock's REST-JSON protocol signals an exception.
fn exception(status: u16, error_type: &str, message: &str) -> MockResponse {
    MockResponse::new(
        status,
        &[("x-amzn-ErrorType", error_type)],
        json!({"message": message}).to_string(),
    )
}

async fn complete(
    response: MockResponse,
    prompt: &Prompt,
) -> (MockServer, Result<Completion, ModelError>) {
    let server = MockServer::start(response).await;
    let model = BedrockConverse::new(
        &sdk_config(&server.url),
        MODEL_ID,
        Price::for_model(MODEL_ID).expect("listed"),
    );
    let result = model.complete(prompt).await;
    (server, result)
}

#[tokio::test]
async fn sends_a_signed_converse_request_and_reads_text_tokens_and_cost() {
    let (server, result) = complete(MockResponse::json(200, &converse_answer()), &prompt()).await;
    let completion = result.expect("completes");

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    let authorization = request.header("authorization").expect("signed");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && authorization.contains("/us-east-1/bedrock/aws4_request"),
        "{authorization}"
    );
    let body = request.json();
    assert_eq!(body["system"], json!([{"text": "You are terse."}]));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Summarise the lead."}]}])
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 256);
    assert_temperature(&body["inferenceConfig"]["temperature"], 0.7);

    assert_eq!(completion.text, "A warm lead, worth a call.");
    assert_eq!(completion.model, format!("bedrock:{MODEL_ID}"));
    assert_eq!((completion.tokens_in, completion.tokens_out), (1000, 200));
    // 1000 × $0.25/M + 200 × $1.25/M
    assert_close(completion.cost_usd, 0.000_5);
}

#[tokio::test]
async fn an_empty_system_prompt_is_left_out() {
    let prompt = Prompt {
        system: String::new(),
        ..prompt()
    };
    let (server, result) = complete(MockResponse::json(200, &converse_answer()), &prompt).await;
    result.expect("completes");
    assert!(server.only_request().json().get("system").is_none());
}

#[tokio::test]
async fn throttling_exception_is_throttling_and_is_not_retried_by_the_sdk() {
    let response = exception(
        429,
        "ThrottlingException",
        "Too many requests, please wait.",
    );
    let (server, result) = complete(response, &prompt()).await;
    assert_throttled(&result.expect_err("throttled"));
    // One attempt: retrying is the caller's decision.
    server.only_request();
}

#[tokio::test]
async fn internal_server_exception_is_a_retryable_provider_error() {
    let response = exception(500, "InternalServerException", "Internal failure");
    let (_, result) = complete(response, &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 500, "Internal failure");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn service_unavailable_exception_is_a_retryable_provider_error() {
    let response = exception(503, "ServiceUnavailableException", "Service unavailable");
    let (_, result) = complete(response, &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 503, "Service unavailable");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn model_not_ready_is_retryable_although_it_arrives_as_429() {
    let response = exception(429, "ModelNotReadyException", "Model is not ready");
    let (_, result) = complete(response, &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 503, "Model is not ready");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn validation_exception_is_a_permanent_provider_error() {
    let response = exception(
        400,
        "ValidationException",
        "The provided model identifier is invalid.",
    );
    let (_, result) = complete(response, &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 400, "The provided model identifier is invalid.");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn access_denied_exception_is_a_permanent_provider_error() {
    let response = exception(
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    );
    let (_, result) = complete(response, &prompt()).await;
    let err = result.expect_err("fails");
    assert_provider(&err, 403, "You don't have access");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_200_that_is_not_json_is_malformed() {
    let (_, result) = complete(MockResponse::new(200, &[], "{\"output\": "), &prompt()).await;
    assert_malformed(&result.expect_err("fails"));
}

#[tokio::test]
async fn a_200_without_an_output_message_is_malformed() {
    let mut answer = converse_answer();
    answer.as_object_mut().expect("object").remove("output");
    let (_, result) = complete(MockResponse::json(200, &answer), &prompt()).await;
    assert_malformed(&result.expect_err("fails"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let model = BedrockConverse::new(&sdk_config(&closed_url().await), MODEL_ID, Price::default());
    assert_transport(&model.complete(&prompt()).await.expect_err("fails"));
}
