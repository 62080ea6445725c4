use std::collections::HashMap;

use serde_json::json;
use switchyard_models::{
    ApiKey, ModelConfigError, ModelSpec, Price, PromptOverrides, ProviderSpec,
};
use switchyard_sdk::{EmbeddedModel, Prompt};

use crate::mock::{MockResponse, MockServer};
use crate::{assert_close, assert_temperature, prompt};

fn spec(vars: &[(&str, &str)]) -> Result<ModelSpec, ModelConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    ModelSpec::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn unset_blank_or_embedded_means_the_embedded_model() {
    for vars in [
        &[][..],
        &[("PRIMARY_MODEL", "  ")][..],
        &[("PRIMARY_MODEL", "embedded")][..],
        &[("PRIMARY_MODEL", EmbeddedModel::NAME)][..],
    ] {
        let spec = spec(vars).expect("valid");
        assert_eq!(spec.provider, ProviderSpec::Embedded, "{vars:?}");
        assert_eq!(spec.overrides, PromptOverrides::default());
    }
}

#[test]
fn openai_defaults_to_the_public_api_with_the_listed_price() {
    let spec = spec(&[
        ("PRIMARY_MODEL", "openai:gpt-4o-mini"),
        ("OPENAI_API_KEY", "sk-test\n"),
    ])
    .expect("valid");
    assert_eq!(
        spec.provider,
        ProviderSpec::OpenAi {
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key: ApiKey::new("sk-test"),
            model: "gpt-4o-mini".to_owned(),
        }
    );
    assert_eq!(spec.price, Price::per_mtok(0.15, 0.60));
}

#[test]
fn anthropic_honours_its_base_url() {
    let spec = spec(&[
        ("PRIMARY_MODEL", "anthropic:claude-3-5-haiku-latest"),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9999"),
    ])
    .expect("valid");
    assert_eq!(
        spec.provider,
        ProviderSpec::Anthropic {
            base_url: "http://127.0.0.1:9999".to_owned(),
            api_key: ApiKey::new("sk-ant-test"),
            model: "claude-3-5-haiku-latest".to_owned(),
        }
    );
    assert_eq!(spec.price, Price::per_mtok(0.80, 4.00));
}

#[test]
fn bedrock_ids_keep_their_colons_and_need_no_key() {
    let spec = spec(&[(
        "PRIMARY_MODEL",
        "bedrock:anthropic.claude-3-haiku-20240307-v1:0",
    )])
    .expect("valid");
    assert_eq!(
        spec.provider,
        ProviderSpec::Bedrock {
            model: "anthropic.claude-3-haiku-20240307-v1:0".to_owned()
        }
    );
    assert_eq!(spec.price, Price::per_mtok(0.25, 1.25));
}

#[test]
fn a_missing_key_names_its_variable() {
    let err = spec(&[("PRIMARY_MODEL", "openai:gpt-4o-mini")]).expect_err("no key");
    assert!(matches!(
        err,
        ModelConfigError::MissingVariable {
            variable: "OPENAI_API_KEY",
            ..
        }
    ));
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");

    let err = spec(&[
        ("PRIMARY_MODEL", "anthropic:claude-3-5-haiku-latest"),
        ("ANTHROPIC_API_KEY", ""),
    ])
    .expect_err("empty key");
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
}

#[test]
fn a_provider_needs_a_model_and_must_be_known() {
    for value in ["openai", "bedrock:"] {
        let err = spec(&[("PRIMARY_MODEL", value), ("OPENAI_API_KEY", "sk")]).expect_err(value);
        assert!(
            matches!(err, ModelConfigError::MissingModel { .. }),
            "{value}: {err:?}"
        );
    }
    let err = spec(&[("PRIMARY_MODEL", "gemini:pro")]).expect_err("unknown");
    assert!(
        matches!(&err, ModelConfigError::UnknownProvider { provider, origin: "PRIMARY_MODEL" } if provider == "gemini"),
        "{err:?}"
    );
    let err = spec(&[("PRIMARY_MODEL", "embedded:large")]).expect_err("no variants");
    assert!(matches!(
        err,
        ModelConfigError::InvalidValue {
            variable: "PRIMARY_MODEL",
            ..
        }
    ));
}

fn agent_spec(
    declared: Option<&str>,
    vars: &[(&str, &str)],
) -> Result<ModelSpec, ModelConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    ModelSpec::for_agent(declared, |name| vars.get(name).cloned())
}

fn model_of(spec: &ModelSpec) -> &str {
    match &spec.provider {
        ProviderSpec::Embedded => "embedded",
        ProviderSpec::OpenAi { model, .. }
        | ProviderSpec::Anthropic { model, .. }
        | ProviderSpec::Bedrock { model } => model,
    }
}

#[test]
fn an_agents_model_is_its_function_variable_then_its_declaration_then_the_primary_model() {
    let keys = [("OPENAI_API_KEY", "sk"), ("ANTHROPIC_API_KEY", "sk-ant")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = keys.to_vec();
        vars.extend_from_slice(extra);
        vars
    };
    let declared = Some("anthropic:claude-3-5-haiku-latest");
    // (declared, variables, the model chosen)
    let cases = [
        // AGENT_MODEL, set per function at deploy time, wins over everything.
        (
            declared,
            with(&[
                ("AGENT_MODEL", "openai:gpt-4o-mini"),
                ("PRIMARY_MODEL", "bedrock:amazon.nova-lite-v1:0"),
            ]),
            "gpt-4o-mini",
        ),
        // Then the agent's declared model, over PRIMARY_MODEL.
        (
            declared,
            with(&[("PRIMARY_MODEL", "bedrock:amazon.nova-lite-v1:0")]),
            "claude-3-5-haiku-latest",
        ),
        // A blank AGENT_MODEL (an override left empty at deploy) is unset.
        (
            declared,
            with(&[("AGENT_MODEL", "  ")]),
            "claude-3-5-haiku-latest",
        ),
        // Then PRIMARY_MODEL, then the embedded model.
        (
            None,
            with(&[("PRIMARY_MODEL", "bedrock:amazon.nova-lite-v1:0")]),
            "amazon.nova-lite-v1:0",
        ),
        (None, with(&[]), "embedded"),
        // AGENT_MODEL may choose the embedded model over a declared one.
        (declared, with(&[("AGENT_MODEL", "embedded")]), "embedded"),
    ];
    for (declared, vars, expected) in cases {
        let spec = agent_spec(declared, &vars).expect("valid");
        assert_eq!(model_of(&spec), expected, "{declared:?} {vars:?}");
    }
    // The companion variables apply whichever model is chosen.
    let spec = agent_spec(
        declared,
        &with(&[("MODEL_MAX_TOKENS", "64"), ("PRIMARY_MODEL", "embedded")]),
    )
    .expect("valid");
    assert_eq!(spec.overrides.max_tokens, Some(64));
    assert_eq!(spec.price, Price::per_mtok(0.80, 4.00));
}

#[test]
fn a_bad_agent_model_names_where_it_came_from() {
    let err = agent_spec(None, &[("AGENT_MODEL", "gemini:pro")]).expect_err("unknown");
    assert!(
        matches!(
            &err,
            ModelConfigError::UnknownProvider {
                origin: "AGENT_MODEL",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("AGENT_MODEL names"), "{err}");
    let err = agent_spec(Some("openai:gpt-4o-mini"), &[]).expect_err("no key");
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    let err = agent_spec(None, &[("AGENT_MODEL", "anthropic:")]).expect_err("no model");
    assert!(
        matches!(
            &err,
            ModelConfigError::MissingModel {
                origin: "AGENT_MODEL",
                ..
            }
        ),
        "{err:?}"
    );
    // PRIMARY_MODEL is not read when the agent's own model is given.
    let spec = agent_spec(Some("embedded"), &[("PRIMARY_MODEL", "gemini:pro")]).expect("valid");
    assert_eq!(spec.provider, ProviderSpec::Embedded);
}

#[test]
fn unlisted_models_cost_nothing_unless_priced_by_env() {
    let base = [
        ("PRIMARY_MODEL", "openai:llama3.1:8b"),
        ("OPENAI_API_KEY", "sk"),
    ];
    assert_eq!(spec(&base).expect("valid").price, Price::default());

    let mut priced = base.to_vec();
    priced.push(("MODEL_PRICE_INPUT_PER_MTOK", "0.5"));
    assert_eq!(
        spec(&priced).expect("valid").price,
        Price::per_mtok(0.5, 0.0)
    );

    let overridden = spec(&[
        ("PRIMARY_MODEL", "openai:gpt-4o-mini"),
        ("OPENAI_API_KEY", "sk"),
        ("MODEL_PRICE_OUTPUT_PER_MTOK", "1"),
    ])
    .expect("valid");
    assert_eq!(overridden.price, Price::per_mtok(0.15, 1.0));
}

#[test]
fn generation_overrides_are_parsed_and_validated() {
    let parsed = spec(&[("MODEL_TEMPERATURE", "0"), ("MODEL_MAX_TOKENS", "64")]).expect("valid");
    assert_eq!(
        parsed.overrides,
        PromptOverrides {
            temperature: Some(0.0),
            max_tokens: Some(64),
        }
    );

    for (variable, value) in [
        ("MODEL_TEMPERATURE", "warm"),
        ("MODEL_TEMPERATURE", "-0.1"),
        ("MODEL_TEMPERATURE", "NaN"),
        ("MODEL_MAX_TOKENS", "0"),
        ("MODEL_MAX_TOKENS", "-5"),
        ("MODEL_MAX_TOKENS", "1.5"),
        ("MODEL_PRICE_INPUT_PER_MTOK", "-1"),
        ("MODEL_PRICE_OUTPUT_PER_MTOK", "inf"),
    ] {
        let err = spec(&[(variable, value)]).expect_err(value);
        match err {
            ModelConfigError::InvalidValue {
                variable: named,
                value: shown,
                ..
            } => assert_eq!((named, shown.as_str()), (variable, value)),
            other => panic!("{variable}={value}: {other:?}"),
        }
    }
}

#[test]
fn debug_output_hides_api_keys() {
    let spec = spec(&[
        ("PRIMARY_MODEL", "openai:gpt-4o-mini"),
        ("OPENAI_API_KEY", "sk-very-secret"),
    ])
    .expect("valid");
    assert!(!format!("{spec:?}").contains("sk-very-secret"));
}

#[tokio::test]
async fn the_embedded_model_gets_the_max_tokens_override() {
    let model = spec(&[("MODEL_MAX_TOKENS", "1")])
        .expect("valid")
        .build()
        .await
        .expect("builds");
    let completion = model.complete(&prompt()).await.expect("completes");
    assert_eq!(completion.model, EmbeddedModel::NAME);
    assert_eq!(completion.tokens_out, 1);
}

#[tokio::test]
async fn a_spec_from_the_environment_drives_the_configured_provider() {
    let server = MockServer::start(MockResponse::json(
        200,
        &json!({
            "choices": [{"message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2}
        }),
    ))
    .await;
    let model = spec(&[
        ("PRIMARY_MODEL", "openai:local-llama"),
        ("OPENAI_API_KEY", "sk-local"),
        ("OPENAI_BASE_URL", &server.url),
        ("MODEL_TEMPERATURE", "0"),
        ("MODEL_MAX_TOKENS", "32"),
        ("MODEL_PRICE_INPUT_PER_MTOK", "1000"),
        ("MODEL_PRICE_OUTPUT_PER_MTOK", "2000"),
    ])
    .expect("valid")
    .build()
    .await
    .expect("builds");

    let completion = model.complete(&prompt()).await.expect("completes");
    let request = server.only_request();
    assert_eq!(request.path, "/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-local"));
    let body = request.json();
    assert_eq!(body["model"], "local-llama");
    assert_eq!(body["max_tokens"], 32);
    assert_temperature(&body["temperature"], 0.0);
    assert_eq!(completion.model, "openai:local-llama");
    // 10 × $1000/M + 2 × $2000/M
    assert_close(completion.cost_usd, 0.014);
}

#[tokio::test]
async fn an_api_key_that_cannot_be_a_header_is_a_config_error() {
    let err = spec(&[
        ("PRIMARY_MODEL", "anthropic:claude-3-5-haiku-latest"),
        ("ANTHROPIC_API_KEY", "sk-ant\u{0}bad"),
    ])
    .expect("parses")
    .build()
    .await
    .err()
    .expect("rejected");
    assert!(matches!(err, ModelConfigError::InvalidApiKey), "{err:?}");
}

/// `Prompt` values pass through untouched when nothing overrides them.
#[test]
fn empty_overrides_leave_the_prompt_alone() {
    let prompt: Prompt = prompt();
    assert_eq!(PromptOverrides::default().apply(&prompt), prompt);
}
