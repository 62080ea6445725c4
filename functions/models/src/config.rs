//! Choosing the model from the environment, once, at Lambda init.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use switchyard_sdk::{EmbeddedModel, Model};

use crate::overrides::OverriddenModel;
use crate::{Anthropic, BedrockConverse, OpenAiCompatible, Price, PromptOverrides};

const PRIMARY_MODEL: &str = "PRIMARY_MODEL";
const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
const AWS_REGION: &str = "AWS_REGION";
const MODEL_TEMPERATURE: &str = "MODEL_TEMPERATURE";
const MODEL_MAX_TOKENS: &str = "MODEL_MAX_TOKENS";
const MODEL_PRICE_INPUT_PER_MTOK: &str = "MODEL_PRICE_INPUT_PER_MTOK";
const MODEL_PRICE_OUTPUT_PER_MTOK: &str = "MODEL_PRICE_OUTPUT_PER_MTOK";

/// The model `PRIMARY_MODEL` and its companion variables describe.
///
/// See [`ModelSpec::from_lookup`] for the variables and [`model_from_env`] for the
/// one-call form a Lambda uses at init.
pub async fn model_from_env() -> Result<Arc<dyn Model>, ModelConfigError> {
    ModelSpec::from_lookup(|name| std::env::var(name).ok())?
        .build()
        .await
}

/// Everything needed to build the configured model, parsed but not yet connected.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    pub provider: ProviderSpec,
    /// Used by the remote providers; the embedded model is always free.
    pub price: Price,
    pub overrides: PromptOverrides,
}

/// Which provider serves `PRIMARY_MODEL`, with what it needs to connect.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderSpec {
    Embedded,
    OpenAi {
        base_url: String,
        api_key: ApiKey,
        model: String,
    },
    Anthropic {
        base_url: String,
        api_key: ApiKey,
        model: String,
    },
    /// Endpoint, region and credentials come from the AWS SDK's own configuration chain.
    Bedrock {
        model: String,
    },
}

/// A provider's secret key; its `Debug` form is redacted so a logged [`ModelSpec`] does not
/// leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelConfigError {
    #[error("PRIMARY_MODEL names unknown provider `{provider}`; expected `embedded`, `openai:<model>`, `anthropic:<model>` or `bedrock:<model id>`")]
    UnknownProvider { provider: String },
    #[error("PRIMARY_MODEL=`{provider}` needs a model: `{provider}:<model>`")]
    MissingModel { provider: String },
    #[error("{variable} must be set to use the {provider} provider")]
    MissingVariable {
        variable: &'static str,
        provider: &'static str,
    },
    #[error("{variable}=`{value}` is invalid: expected {expected}")]
    InvalidValue {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "the API key cannot be sent in an HTTP header (it has control or non-ASCII characters)"
    )]
    InvalidApiKey,
    #[error("could not build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

impl ModelSpec {
    /// Reads the configuration through `lookup` (a variable name to its value), so tests
    /// need not touch the process environment. Unset, empty and blank variables are the
    /// same; values are trimmed.
    ///
    /// - `PRIMARY_MODEL`: `provider:model`, split at the first colon because Bedrock ids
    ///   contain colons. Unset or `embedded` → [`EmbeddedModel`]; `openai:gpt-4o-mini`
    ///   (needs `OPENAI_API_KEY`, optional `OPENAI_BASE_URL`);
    ///   `anthropic:claude-3-5-haiku-latest` (needs `ANTHROPIC_API_KEY`, optional
    ///   `ANTHROPIC_BASE_URL`); `bedrock:anthropic.claude-3-haiku-20240307-v1:0` (AWS
    ///   credentials and region from the SDK's chain).
    /// - `MODEL_TEMPERATURE`, `MODEL_MAX_TOKENS`: replace every prompt's own values.
    /// - `MODEL_PRICE_INPUT_PER_MTOK`, `MODEL_PRICE_OUTPUT_PER_MTOK`: USD per million
    ///   tokens, each replacing its side of [`Price::for_model`]'s list price; a model with
    ///   neither a list price nor an override costs 0.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ModelConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let primary = get(PRIMARY_MODEL);
        let (provider, model) = match primary.as_deref() {
            None => ("embedded", None),
            Some(value) => match value.split_once(':') {
                Some((provider, model)) => (provider, Some(model).filter(|m| !m.is_empty())),
                None => (value, None),
            },
        };
        let required_model = || {
            model
                .map(str::to_owned)
                .ok_or_else(|| ModelConfigError::MissingModel {
                    provider: provider.to_owned(),
                })
        };
        let required_key = |variable, provider| {
            get(variable)
                .map(ApiKey::new)
                .ok_or(ModelConfigError::MissingVariable { variable, provider })
        };
        let provider = match provider {
            "embedded" => match primary.as_deref() {
                None | Some("embedded") | Some(EmbeddedModel::NAME) => ProviderSpec::Embedded,
                Some(other) => {
                    return Err(ModelConfigError::InvalidValue {
                        variable: PRIMARY_MODEL,
                        value: other.to_owned(),
                        expected: "`embedded` (the embedded model has no variants)",
                    })
                }
            },
            "openai" => ProviderSpec::OpenAi {
                model: required_model()?,
                api_key: required_key(OPENAI_API_KEY, "openai")?,
                base_url: get(OPENAI_BASE_URL)
                    .unwrap_or_else(|| OpenAiCompatible::DEFAULT_BASE_URL.to_owned()),
            },
            "anthropic" => ProviderSpec::Anthropic {
                model: required_model()?,
                api_key: required_key(ANTHROPIC_API_KEY, "anthropic")?,
                base_url: get(ANTHROPIC_BASE_URL)
                    .unwrap_or_else(|| Anthropic::DEFAULT_BASE_URL.to_owned()),
            },
            "bedrock" => ProviderSpec::Bedrock {
                model: required_model()?,
            },
            other => {
                return Err(ModelConfigError::UnknownProvider {
                    provider: other.to_owned(),
                })
            }
        };

        let listed = model.and_then(Price::for_model).unwrap_or_default();
        let per_mtok = |variable| {
            parse(
                get(variable),
                variable,
                "a non-negative number of USD per million tokens",
                |price: &f64| price.is_finite() && *price >= 0.0,
            )
        };
        let price = Price {
            input_per_mtok: per_mtok(MODEL_PRICE_INPUT_PER_MTOK)?.unwrap_or(listed.input_per_mtok),
            output_per_mtok: per_mtok(MODEL_PRICE_OUTPUT_PER_MTOK)?
                .unwrap_or(listed.output_per_mtok),
        };
        let overrides = PromptOverrides {
            temperature: parse(
                get(MODEL_TEMPERATURE),
                MODEL_TEMPERATURE,
                "a non-negative number",
                |t: &f32| t.is_finite() && *t >= 0.0,
            )?,
            max_tokens: parse(
                get(MODEL_MAX_TOKENS),
                MODEL_MAX_TOKENS,
                "a positive whole number",
                |n: &u32| *n > 0,
            )?,
        };
        Ok(ModelSpec {
            provider,
            price,
            overrides,
        })
    }

    /// Connects the model: builds its HTTP or AWS client once, to be reused for every call.
    /// Bedrock loads the AWS configuration here (`aws_config::load_defaults`), which is
    /// why this is async.
    pub async fn build(&self) -> Result<Arc<dyn Model>, ModelConfigError> {
        let model: Arc<dyn Model> = match &self.provider {
            ProviderSpec::Embedded => Arc::new(EmbeddedModel),
            ProviderSpec::OpenAi {
                base_url,
                api_key,
                model,
            } => Arc::new(OpenAiCompatible::new(
                base_url,
                api_key.expose(),
                model.as_str(),
                self.price,
            )?),
            ProviderSpec::Anthropic {
                base_url,
                api_key,
                model,
            } => Arc::new(Anthropic::new(
                base_url,
                api_key.expose(),
                model.as_str(),
                self.price,
            )?),
            ProviderSpec::Bedrock { model } => {
                let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
                // Without a region the SDK cannot even name the endpoint; say so now rather
                // than on the first call.
                if sdk_config.region().is_none() {
                    return Err(ModelConfigError::MissingVariable {
                        variable: AWS_REGION,
                        provider: "bedrock",
                    });
                }
                Arc::new(BedrockConverse::new(
                    &sdk_config,
                    model.as_str(),
                    self.price,
                ))
            }
        };
        Ok(if self.overrides.is_empty() {
            model
        } else {
            Arc::new(OverriddenModel {
                inner: model,
                overrides: self.overrides,
            })
        })
    }
}

fn parse<T: FromStr>(
    value: Option<String>,
    variable: &'static str,
    expected: &'static str,
    valid: impl Fn(&T) -> bool,
) -> Result<Option<T>, ModelConfigError> {
    value
        .map(|text| match text.parse::<T>() {
            Ok(parsed) if valid(&parsed) => Ok(parsed),
            _ => Err(ModelConfigError::InvalidValue {
                variable,
                value: text,
                expected,
            }),
        })
        .transpose()
}
