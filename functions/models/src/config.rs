//! Choosing the model from the environment, once, at Lambda init.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use switchyard_sdk::ir::ModelNameError;
use switchyard_sdk::{EmbeddedModel, Model};

use crate::overrides::OverriddenModel;
use crate::{Anthropic, BedrockConverse, OpenAiCompatible, Price, PromptOverrides};

const PRIMARY_MODEL: &str = "PRIMARY_MODEL";
const AGENT_MODEL: &str = "AGENT_MODEL";
/// How errors name a model an agent declares (`#[agent(model = "...")]`).
const DECLARED_MODEL: &str = "#[agent(model)]";
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

/// The model an agent's function asks, built once at init: see [`ModelSpec::for_agent`].
pub async fn agent_model_from_env(
    declared: Option<&str>,
) -> Result<Arc<dyn Model>, ModelConfigError> {
    ModelSpec::for_agent(declared, |name| std::env::var(name).ok())?
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
    /// `origin` is where the model was named: `AGENT_MODEL`, `#[agent(model)]` or
    /// `PRIMARY_MODEL`.
    #[error("{origin} names unknown provider `{provider}`; expected `embedded`, `openai:<model>`, `anthropic:<model>` or `bedrock:<model id>`")]
    UnknownProvider {
        origin: &'static str,
        provider: String,
    },
    #[error("{origin}=`{provider}` needs a model: `{provider}:<model>`")]
    MissingModel {
        origin: &'static str,
        provider: String,
    },
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
        let primary = variable(&lookup, PRIMARY_MODEL);
        ModelSpec::for_model(primary.as_deref(), PRIMARY_MODEL, lookup)
    }

    /// The model of an agent's function: the first of `AGENT_MODEL` (which the deployment
    /// sets per function), the agent's declared model (`#[agent(model = "...")]`),
    /// `PRIMARY_MODEL`, and the embedded model. The other variables are read as
    /// [`ModelSpec::from_lookup`] reads them, whichever model is chosen.
    pub fn for_agent(
        declared: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelConfigError> {
        let (model, origin) = match (
            variable(&lookup, AGENT_MODEL),
            declared.map(str::trim).filter(|d| !d.is_empty()),
        ) {
            (Some(chosen), _) => (Some(chosen), AGENT_MODEL),
            (None, Some(declared)) => (Some(declared.to_owned()), DECLARED_MODEL),
            (None, None) => (variable(&lookup, PRIMARY_MODEL), PRIMARY_MODEL),
        };
        ModelSpec::for_model(model.as_deref(), origin, lookup)
    }

    /// The model named `model` (`provider:model`; `None` is the embedded model), with the
    /// companion variables read through `lookup`; errors name the model's `origin`.
    pub fn for_model(
        model: Option<&str>,
        origin: &'static str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelConfigError> {
        let get = |name: &str| variable(&lookup, name);
        let name = switchyard_sdk::ir::parse_model_name(model.unwrap_or("embedded")).map_err(
            |problem| match problem {
                ModelNameError::UnknownProvider(provider) => {
                    ModelConfigError::UnknownProvider { origin, provider }
                }
                ModelNameError::MissingModel(provider) => {
                    ModelConfigError::MissingModel { origin, provider }
                }
                ModelNameError::Empty => ModelConfigError::InvalidValue {
                    variable: origin,
                    value: String::new(),
                    expected: "`provider:model`, or `embedded`",
                },
                ModelNameError::EmbeddedVariant(_) => ModelConfigError::InvalidValue {
                    variable: origin,
                    value: model.unwrap_or_default().to_owned(),
                    expected: "`embedded` (the embedded model has no variants)",
                },
            },
        )?;
        let model = name.model;
        let required_model = || {
            model
                .map(str::to_owned)
                .ok_or_else(|| ModelConfigError::MissingModel {
                    origin,
                    provider: name.provider.to_owned(),
                })
        };
        let required_key = |variable, provider| {
            get(variable)
                .map(ApiKey::new)
                .ok_or(ModelConfigError::MissingVariable { variable, provider })
        };
        let provider = match name.provider {
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
            "embedded" => ProviderSpec::Embedded,
            other => {
                return Err(ModelConfigError::UnknownProvider {
                    origin,
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

/// A variable's value through `lookup`: trimmed, and unset when empty or blank.
fn variable(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
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
