use serde_json::json;
use switchyard_models::{Anthropic, Price};
use switchyard_sdk::schema::json_schema;
use switchyard_sdk::{Completion, JsonShape, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    ask_with_tools, assert_close, assert_error_cases, assert_malformed, assert_provider,
    assert_temperature, assert_throttled, assert_transport, bad_review_json, prompt, review,
    review_json, LeadReview, Lookup, Score,
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

// Structured output and tools.

fn model(server: &MockServer) -> Anthropic {
    Anthropic::new(
        &server.url,
        "sk-ant-test",
        "claude-3-5-haiku-latest",
        Price::for_model("claude-3-5-haiku-latest").expect("listed"),
    )
    .expect("client builds")
}

/// A reply of these content blocks.
fn blocks_answer(content: serde_json::Value, stop_reason: &str) -> MockResponse {
    let mut answer = message_answer();
    answer["content"] = content;
    answer["stop_reason"] = stop_reason.into();
    MockResponse::json(200, &answer)
}

/// A reply that calls the answer tool with `input`.
fn answer_call(id: &str, name: &str, input: serde_json::Value) -> MockResponse {
    blocks_answer(
        json!([{"type": "tool_use", "id": id, "name": name, "input": input}]),
        "tool_use",
    )
}

#[tokio::test]
async fn structured_output_is_a_forced_answer_tool() {
    let server = MockServer::script([answer_call("toolu_a1", "LeadReview", review_json())]).await;
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
    let tools = body["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "LeadReview");
    assert_eq!(tools[0]["input_schema"], json_schema(&LeadReview::SHAPE));
    assert!(tools[0]["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "LeadReview"})
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Summarise the lead."}])
    );
}

#[tokio::test]
async fn an_answer_that_is_not_an_object_travels_wrapped_in_one() {
    let scores = json!([{"criterion": "fit", "points": 8}]);
    let short = json!({"value": [{"criterion": "fit"}]});
    let server = MockServer::script([
        answer_call("toolu_a1", "Vec_Score", short.clone()),
        answer_call("toolu_a2", "Vec_Score", json!({"value": scores})),
    ])
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let answer = dyn_model
        .ask::<Vec<Score>>(prompt())
        .await
        .expect("answers");
    assert_eq!(answer, review().scores[..1]);

    let bodies = server.bodies();
    assert_eq!(
        bodies[0]["tools"][0]["input_schema"],
        json!({
            "type": "object",
            "properties": {"value": json_schema(&<Vec<Score>>::SHAPE)},
            "required": ["value"],
            "additionalProperties": false
        })
    );
    // The answer is remembered as the call that gave it, wrapped as it came.
    assert_eq!(bodies[1]["messages"][1]["content"][0]["input"], short);
    let correction = bodies[1]["messages"][2]["content"][0]["content"].as_str();
    assert!(
        correction.is_some_and(|c| c.contains("`[0].points`")),
        "{correction:?}"
    );
}

#[tokio::test]
async fn an_answer_that_does_not_fit_is_corrected_by_the_answer_calls_error_result() {
    let server = MockServer::script([
        answer_call("toolu_a1", "LeadReview", bad_review_json()),
        answer_call("toolu_a2", "LeadReview", review_json()),
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
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_a1", "name": "LeadReview", "input": bad_review_json()}
        ]})
    );
    assert_eq!(messages[2]["role"], "user");
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_a1");
    assert_eq!(result["is_error"], true);
    let correction = result["content"].as_str().expect("text");
    assert!(
        correction.contains("`verdict`") && correction.contains("hot"),
        "{correction}"
    );
    assert_eq!(bodies[1]["tool_choice"], bodies[0]["tool_choice"]);
}

#[tokio::test]
async fn two_answers_that_do_not_fit_are_invalid_output() {
    let server = MockServer::script([
        answer_call("toolu_a1", "LeadReview", bad_review_json()),
        answer_call("toolu_a2", "LeadReview", json!({"verdict": "qualified"})),
        answer_call("toolu_a3", "LeadReview", review_json()),
    ])
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let err = dyn_model
        .ask::<LeadReview>(prompt())
        .await
        .expect_err("invalid");
    match &err {
        ModelError::InvalidOutput {
            attempts, problem, ..
        } => {
            assert_eq!(*attempts, 2);
            assert!(problem.contains("`contact`"), "{problem}");
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn two_calls_of_one_turn_run_side_by_side_and_go_back_in_one_request() {
    let server = MockServer::script([
        blocks_answer(
            json!([
                {"type": "text", "text": "Let me look both up."},
                {"type": "tool_use", "id": "toolu_1", "name": "crm_lookup", "input": {"lead": "42"}},
                {"type": "tool_use", "id": "toolu_2", "name": "web_search", "input": {"lead": "43"}}
            ]),
            "tool_use",
        ),
        answer_call("toolu_a1", "LeadReview", review_json()),
    ])
    .await;
    let model = model(&server);
    assert_eq!(
        ask_with_tools::<LeadReview>(&model).await.expect("answers"),
        review()
    );

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    let names: Vec<&str> = bodies[0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["crm_lookup", "web_search", "LeadReview"]);
    assert_eq!(
        bodies[0]["tools"][0]["input_schema"],
        json_schema(&Lookup::SHAPE)
    );
    // With tools to call first, any tool may be called; the answer is one of them.
    assert_eq!(bodies[0]["tool_choice"], json!({"type": "any"}));

    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Let me look both up."},
            {"type": "tool_use", "id": "toolu_1", "name": "crm_lookup", "input": {"lead": "42"}},
            {"type": "tool_use", "id": "toolu_2", "name": "web_search", "input": {"lead": "43"}}
        ]})
    );
    assert_eq!(messages[2]["role"], "user");
    let results = messages[2]["content"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for (result, (id, lead)) in results.iter().zip([("toolu_1", "42"), ("toolu_2", "43")]) {
        assert_eq!(result["type"], "tool_result");
        assert_eq!(result["tool_use_id"], id);
        assert!(result.get("is_error").is_none(), "{result}");
        let content: serde_json::Value =
            serde_json::from_str(result["content"].as_str().expect("text")).expect("JSON");
        assert_eq!(content, json!({"lead": lead, "found": true}));
    }
}

#[tokio::test]
async fn a_refusal_is_a_permanent_error() {
    let server = MockServer::start(blocks_answer(
        json!([{"type": "text", "text": "I can't help with that."}]),
        "refusal",
    ))
    .await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let err = dyn_model
        .ask::<LeadReview>(prompt())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ModelError::Refused(reason) if reason == "I can't help with that."),
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
            MockResponse::json(429, &error_answer("rate_limit_error", "Slow down")),
        ),
        (
            500,
            MockResponse::json(500, &error_answer("api_error", "Internal server error")),
        ),
        (
            400,
            MockResponse::json(400, &error_answer("invalid_request_error", "Bad schema")),
        ),
        (
            200,
            MockResponse::new(200, &[], "{\"content\": [{\"type\": "),
        ),
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
