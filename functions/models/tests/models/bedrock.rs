use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider};
use serde_json::json;
use switchyard_models::{BedrockConverse, Price};
use switchyard_sdk::schema::json_schema;
use switchyard_sdk::{Completion, JsonShape, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    ask_with_tools, assert_close, assert_error_cases, assert_malformed, assert_provider,
    assert_temperature, assert_throttled, assert_transport, bad_review_json, prompt, review,
    review_json, LeadReview, Lookup,
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

// Structured output and tools.

fn model(server: &MockServer) -> BedrockConverse {
    BedrockConverse::new(
        &sdk_config(&server.url),
        MODEL_ID,
        Price::for_model(MODEL_ID).expect("listed"),
    )
}

/// A reply of these content blocks.
fn blocks_answer(content: serde_json::Value, stop_reason: &str) -> MockResponse {
    let mut answer = converse_answer();
    answer["output"]["message"]["content"] = content;
    answer["stopReason"] = stop_reason.into();
    MockResponse::json(200, &answer)
}

/// A reply that calls the answer tool with `input`.
fn answer_call(id: &str, name: &str, input: serde_json::Value) -> MockResponse {
    blocks_answer(
        json!([{"toolUse": {"toolUseId": id, "name": name, "input": input}}]),
        "tool_use",
    )
}

#[tokio::test]
async fn structured_output_is_a_forced_answer_tool() {
    let server = MockServer::script([answer_call("tooluse_a1", "LeadReview", review_json())]).await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    assert_eq!(
        dyn_model
            .ask::<LeadReview>(prompt())
            .await
            .expect("answers"),
        review()
    );

    let body = server.only_request().json();
    let config = &body["toolConfig"];
    let tools = config["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1);
    let spec = &tools[0]["toolSpec"];
    assert_eq!(spec["name"], "LeadReview");
    assert_eq!(
        spec["inputSchema"],
        json!({"json": json_schema(&LeadReview::SHAPE)})
    );
    assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        config["toolChoice"],
        json!({"tool": {"name": "LeadReview"}})
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Summarise the lead."}]}])
    );
}

#[tokio::test]
async fn an_answer_that_is_not_an_object_travels_wrapped_and_integers_stay_integers() {
    let server = MockServer::script([answer_call(
        "tooluse_a1",
        "String_u32",
        json!({"value": ["fit", 8]}),
    )])
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let answer = dyn_model
        .ask::<(String, u32)>(prompt())
        .await
        .expect("answers");
    assert_eq!(answer, ("fit".to_owned(), 8));

    let body = server.only_request().json();
    // `minItems: 2` arrives as 2, not 2.0: the whole schema compares equal.
    assert_eq!(
        body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
        json!({
            "type": "object",
            "properties": {"value": json_schema(&<(String, u32)>::SHAPE)},
            "required": ["value"],
            "additionalProperties": false
        })
    );
}

#[tokio::test]
async fn an_answer_that_does_not_fit_is_corrected_by_the_answer_calls_error_result() {
    let server = MockServer::script([
        answer_call("tooluse_a1", "LeadReview", bad_review_json()),
        answer_call("tooluse_a2", "LeadReview", review_json()),
    ])
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    assert_eq!(
        dyn_model
            .ask::<LeadReview>(prompt())
            .await
            .expect("answers"),
        review()
    );

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [{"toolUse": {
            "toolUseId": "tooluse_a1", "name": "LeadReview", "input": bad_review_json()
        }}]})
    );
    assert_eq!(messages[2]["role"], "user");
    let result = &messages[2]["content"][0]["toolResult"];
    assert_eq!(result["toolUseId"], "tooluse_a1");
    assert_eq!(result["status"], "error");
    let correction = result["content"][0]["text"].as_str().expect("text");
    assert!(
        correction.contains("`verdict`") && correction.contains("hot"),
        "{correction}"
    );
    assert_eq!(bodies[1]["toolConfig"], bodies[0]["toolConfig"]);
}

#[tokio::test]
async fn two_answers_that_do_not_fit_are_invalid_output() {
    let server = MockServer::script([
        answer_call("tooluse_a1", "LeadReview", bad_review_json()),
        answer_call("tooluse_a2", "LeadReview", bad_review_json()),
        answer_call("tooluse_a3", "LeadReview", review_json()),
    ])
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let err = dyn_model
        .ask::<LeadReview>(prompt())
        .await
        .expect_err("invalid");
    assert!(
        matches!(err, ModelError::InvalidOutput { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn two_calls_of_one_turn_run_side_by_side_and_go_back_in_one_request() {
    let server = MockServer::script([
        blocks_answer(
            json!([
                {"toolUse": {"toolUseId": "tooluse_1", "name": "crm_lookup", "input": {"lead": "42"}}},
                {"toolUse": {"toolUseId": "tooluse_2", "name": "web_search", "input": {"lead": "43"}}}
            ]),
            "tool_use",
        ),
        answer_call("tooluse_a1", "LeadReview", review_json()),
    ])
    .await;
    let model = model(&server);
    assert_eq!(
        ask_with_tools::<LeadReview>(&model).await.expect("answers"),
        review()
    );

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    let config = &bodies[0]["toolConfig"];
    let names: Vec<&str> = config["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["toolSpec"]["name"].as_str())
        .collect();
    assert_eq!(names, ["crm_lookup", "web_search", "LeadReview"]);
    assert_eq!(
        config["tools"][0]["toolSpec"]["inputSchema"]["json"],
        json_schema(&Lookup::SHAPE)
    );
    assert_eq!(config["toolChoice"], json!({"any": {}}));

    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"].as_array().map(Vec::len), Some(2));
    assert_eq!(messages[2]["role"], "user");
    let results = messages[2]["content"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for (result, (id, lead)) in results
        .iter()
        .zip([("tooluse_1", "42"), ("tooluse_2", "43")])
    {
        let result = &result["toolResult"];
        assert_eq!(result["toolUseId"], id);
        assert!(result.get("status").is_none(), "{result}");
        assert_eq!(
            result["content"],
            json!([{"json": {"lead": lead, "found": true}}])
        );
    }
}

#[tokio::test]
async fn a_guardrail_intervention_is_a_permanent_error() {
    let server = MockServer::start(blocks_answer(
        json!([{"text": "Sorry, the model cannot answer this."}]),
        "guardrail_intervened",
    ))
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let err = dyn_model
        .ask::<LeadReview>(prompt())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ModelError::Refused(reason) if reason.contains("cannot answer")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    server.only_request();
}

#[tokio::test]
async fn errors_end_an_ask_after_one_request() {
    let cases = [
        (
            429,
            exception(429, "ThrottlingException", "Too many requests"),
        ),
        (
            500,
            exception(500, "InternalServerException", "Internal failure"),
        ),
        (400, exception(400, "ValidationException", "Invalid schema")),
        (200, MockResponse::new(200, &[], "{\"output\": ")),
    ];
    let mut results = Vec::new();
    for (status, response) in cases {
        let server = MockServer::start(response).await;
        let model = model(&server);
        let err = ask_with_tools::<LeadReview>(&model)
            .await
            .expect_err("fails");
        server.only_request();
        results.push((status, err));
    }
    assert_error_cases(results);
}
