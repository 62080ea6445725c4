use serde_json::json;
use switchyard_models::{OpenAiCompatible, Price};
use switchyard_sdk::schema::json_schema;
use switchyard_sdk::{Completion, JsonShape, Model, ModelError, Prompt};

use crate::mock::{closed_url, MockResponse, MockServer};
use crate::{
    ask_with_tools, assert_close, assert_error_cases, assert_malformed, assert_provider,
    assert_temperature, assert_throttled, assert_transport, bad_review_json, prompt, review,
    review_json, LeadReview, Lookup, LooseReview, Score,
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

// Structured output and tools.

fn model(server: &MockServer) -> OpenAiCompatible {
    OpenAiCompatible::new(
        &format!("{}/v1", server.url),
        "sk-test",
        "gpt-4o-mini",
        Price::for_model("gpt-4o-mini").expect("listed"),
    )
    .expect("client builds")
}

/// A reply whose message content is `content`.
fn content_answer(content: &str) -> MockResponse {
    let mut answer = chat_answer();
    answer["choices"][0]["message"]["content"] = content.into();
    MockResponse::json(200, &answer)
}

/// A reply that calls functions: `(id, name, arguments as the model wrote them)`.
fn calls_answer(calls: &[(&str, &str, &str)]) -> MockResponse {
    let mut answer = chat_answer();
    answer["choices"][0]["message"] = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": calls.iter().map(|(id, name, arguments)| json!({
            "id": id,
            "type": "function",
            "function": {"name": name, "arguments": arguments}
        })).collect::<Vec<_>>(),
        "refusal": null
    });
    answer["choices"][0]["finish_reason"] = "tool_calls".into();
    MockResponse::json(200, &answer)
}

fn parsed(text: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(text.as_str().expect("a JSON string")).expect("JSON")
}

#[tokio::test]
async fn structured_output_is_a_json_schema_response_format_strict_when_it_can_be() {
    let server = MockServer::script([
        content_answer(&review_json().to_string()),
        content_answer(r#"{"verdict": "nurture", "tags": {"pricing": 2}}"#),
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
    let loose = dyn_model
        .ask::<LooseReview>(prompt())
        .await
        .expect("answers");
    assert_eq!(loose.tags["pricing"], 2);

    let bodies = server.bodies();
    assert_eq!(
        bodies[0]["response_format"],
        json!({
            "type": "json_schema",
            "json_schema": {
                "name": "LeadReview",
                "schema": json_schema(&LeadReview::SHAPE),
                "strict": true
            }
        })
    );
    assert!(bodies[0].get("tools").is_none());
    assert_eq!(bodies[0]["messages"].as_array().map(Vec::len), Some(2));
    // An open object, an optional key and a map are outside strict mode.
    assert_eq!(
        bodies[1]["response_format"]["json_schema"]["name"],
        "LooseReview"
    );
    assert_eq!(bodies[1]["response_format"]["json_schema"]["strict"], false);
}

#[tokio::test]
async fn an_answer_that_is_not_an_object_travels_wrapped_in_one() {
    let scores = json!([{"criterion": "fit", "points": 8}]);
    let short = json!({"value": [{"criterion": "fit"}]});
    let server = MockServer::script([
        content_answer(&short.to_string()),
        content_answer(&json!({"value": scores}).to_string()),
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
        bodies[0]["response_format"]["json_schema"],
        json!({
            "name": "Vec_Score",
            "schema": {
                "type": "object",
                "properties": {"value": json_schema(&<Vec<Score>>::SHAPE)},
                "required": ["value"],
                "additionalProperties": false
            },
            "strict": true
        })
    );
    // The answer is remembered as the model wrote it, wrapped.
    assert_eq!(parsed(&bodies[1]["messages"][2]["content"]), short);
}

#[tokio::test]
async fn an_answer_that_does_not_fit_is_corrected_by_a_user_message() {
    let server = MockServer::script([
        content_answer(&bad_review_json().to_string()),
        content_answer(&review_json().to_string()),
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
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages[..2],
        bodies[0]["messages"].as_array().expect("messages")[..]
    );
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(parsed(&messages[2]["content"]), bad_review_json());
    assert_eq!(messages[3]["role"], "user");
    let correction = messages[3]["content"].as_str().expect("text");
    assert!(
        correction.contains("`verdict`") && correction.contains("hot"),
        "{correction}"
    );
    assert_eq!(bodies[1]["response_format"], bodies[0]["response_format"]);
}

#[tokio::test]
async fn two_answers_that_do_not_fit_are_invalid_output() {
    let server = MockServer::script([
        content_answer(&bad_review_json().to_string()),
        content_answer("Qualified, I would say."),
        content_answer(&review_json().to_string()),
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
            assert!(problem.contains("not JSON"), "{problem}");
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn two_calls_of_one_turn_run_side_by_side_and_go_back_in_one_request() {
    let server = MockServer::script([
        calls_answer(&[
            ("call_1", "crm_lookup", r#"{"lead": "42"}"#),
            ("call_2", "web_search", r#"{"lead": "43"}"#),
        ]),
        content_answer(&review_json().to_string()),
    ])
    .await;
    let model = model(&server);
    assert_eq!(
        ask_with_tools::<LeadReview>(&model).await.expect("answers"),
        review()
    );

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["tools"],
        json!(["crm_lookup", "web_search"].map(|name| json!({
            "type": "function",
            "function": {
                "name": name,
                "description": "Looks a lead up",
                "parameters": json_schema(&Lookup::SHAPE)
            }
        })))
    );
    assert_eq!(
        bodies[0]["response_format"]["json_schema"]["name"],
        "LeadReview"
    );
    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 5, "{messages:?}");
    let assistant = &messages[2];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["content"], serde_json::Value::Null);
    let calls = assistant["tool_calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_1");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "crm_lookup");
    assert_eq!(
        parsed(&calls[0]["function"]["arguments"]),
        json!({"lead": "42"})
    );
    for (message, (id, lead)) in messages[3..]
        .iter()
        .zip([("call_1", "42"), ("call_2", "43")])
    {
        assert_eq!(message["role"], "tool");
        assert_eq!(message["tool_call_id"], id);
        assert_eq!(
            parsed(&message["content"]),
            json!({"lead": lead, "found": true})
        );
    }
}

#[tokio::test]
async fn arguments_that_are_not_json_go_back_to_the_model_as_the_tool_error() {
    let server = MockServer::script([
        calls_answer(&[("call_1", "crm_lookup", r#"{"lead": "#)]),
        content_answer(&review_json().to_string()),
    ])
    .await;
    let model = model(&server);
    assert_eq!(
        ask_with_tools::<LeadReview>(&model).await.expect("answers"),
        review()
    );

    let messages = server.bodies()[1]["messages"].clone();
    // The call goes back as the model wrote it, and its result says what is wrong.
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["arguments"],
        r#"{"lead": "#
    );
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    let result = messages[3]["content"].as_str().expect("text");
    assert!(result.starts_with("Error: bad arguments"), "{result}");
}

#[tokio::test]
async fn a_refusal_is_a_permanent_error() {
    let mut answer = chat_answer();
    answer["choices"][0]["message"]["content"] = serde_json::Value::Null;
    answer["choices"][0]["message"]["refusal"] = "I can't help with that.".into();
    let server = MockServer::start(MockResponse::json(200, &answer)).await;
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
async fn json_cut_off_at_max_tokens_is_malformed_not_corrected() {
    let mut answer = chat_answer();
    answer["choices"][0]["message"]["content"] = r#"{"verdict": "qualif"#.into();
    answer["choices"][0]["finish_reason"] = "length".into();
    let server = MockServer::start(MockResponse::json(200, &answer)).await;
    let model = model(&server);
    let dyn_model: &dyn Model = &model;
    let err = dyn_model
        .ask::<LeadReview>(prompt())
        .await
        .expect_err("cut off");
    assert_malformed(&err);
    assert!(err.to_string().contains("max_tokens (256)"), "{err}");
    server.only_request();
}

#[tokio::test]
async fn errors_end_an_ask_after_one_request() {
    let cases = [
        (
            429,
            MockResponse::json(429, &json!({"error": {"message": "Rate limit reached"}})),
        ),
        (
            500,
            MockResponse::json(
                500,
                &json!({"error": {"message": "The server had an error"}}),
            ),
        ),
        (
            400,
            MockResponse::json(400, &json!({"error": {"message": "Invalid schema"}})),
        ),
        (200, MockResponse::new(200, &[], "{\"choices\": [")),
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
