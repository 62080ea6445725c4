//! How a model is named: `provider:model`. One rule for `#[agent(model = "...")]` (checked
//! at `cargo build`) and the `AGENT_MODEL` and `PRIMARY_MODEL` variables the functions read
//! at init, so a name the macro accepts is one the runtime can build.

/// The providers a model name may start with.
pub const MODEL_PROVIDERS: [&str; 4] = ["embedded", "openai", "anthropic", "bedrock"];

/// The embedded model's one variant (`embedded:deterministic-v1`, or `embedded` alone).
pub const EMBEDDED_VARIANT: &str = "deterministic-v1";

/// A model name split into its provider and model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelName<'a> {
    pub provider: &'a str,
    /// `None` for the embedded model named without a variant.
    pub model: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelNameError {
    #[error(
        "a model name is `provider:model`, e.g. `anthropic:claude-3-5-haiku-latest`, or `embedded`"
    )]
    Empty,
    #[error("unknown model provider `{0}`; expected `embedded`, `openai:<model>`, `anthropic:<model>` or `bedrock:<model id>`")]
    UnknownProvider(String),
    #[error("`{0}` needs a model: `{0}:<model>`")]
    MissingModel(String),
    #[error("the embedded model has no variant `{0}`: write `embedded`")]
    EmbeddedVariant(String),
}

/// Splits `name` at its first colon (Bedrock ids hold colons of their own) and checks it:
/// a known provider, and a model after it (the embedded model alone needs none).
pub fn parse_model_name(name: &str) -> Result<ModelName<'_>, ModelNameError> {
    if name.is_empty() {
        return Err(ModelNameError::Empty);
    }
    let (provider, model) = match name.split_once(':') {
        Some((provider, model)) => (provider, Some(model).filter(|m| !m.is_empty())),
        None => (name, None),
    };
    if !MODEL_PROVIDERS.contains(&provider) {
        return Err(ModelNameError::UnknownProvider(provider.to_owned()));
    }
    match (provider, model) {
        ("embedded", Some(variant)) if variant != EMBEDDED_VARIANT => {
            Err(ModelNameError::EmbeddedVariant(variant.to_owned()))
        }
        ("embedded", _) => Ok(ModelName { provider, model }),
        (_, None) => Err(ModelNameError::MissingModel(provider.to_owned())),
        (_, Some(_)) => Ok(ModelName { provider, model }),
    }
}

/// The deploy-time variable that picks `agent`'s model: `SWITCHYARD_MODEL_` and its name in
/// upper snake case (`subject_line_writer` → `SWITCHYARD_MODEL_SUBJECT_LINE_WRITER`).
pub fn model_override_variable(agent: &str) -> String {
    let mut variable = String::from("SWITCHYARD_MODEL_");
    let mut previous: Option<char> = None;
    for ch in agent.chars() {
        // `scoreLead` is `SCORE_LEAD`, as `score_lead` is.
        if ch.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            variable.push('_');
        }
        variable.push(ch.to_ascii_uppercase());
        previous = Some(ch);
    }
    variable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_name_is_a_known_provider_and_a_model() {
        let ok = |name| parse_model_name(name).map(|m| (m.provider, m.model));
        assert_eq!(ok("embedded"), Ok(("embedded", None)));
        assert_eq!(
            ok("embedded:deterministic-v1"),
            Ok(("embedded", Some("deterministic-v1")))
        );
        assert_eq!(
            ok("anthropic:claude-3-5-haiku-latest"),
            Ok(("anthropic", Some("claude-3-5-haiku-latest")))
        );
        assert_eq!(
            ok("bedrock:anthropic.claude-3-haiku-20240307-v1:0"),
            Ok(("bedrock", Some("anthropic.claude-3-haiku-20240307-v1:0")))
        );
        assert_eq!(
            ok("gemini:pro"),
            Err(ModelNameError::UnknownProvider("gemini".into()))
        );
        assert_eq!(ok(""), Err(ModelNameError::Empty));
        assert_eq!(
            ok(":gpt-4o"),
            Err(ModelNameError::UnknownProvider("".into()))
        );
        for name in ["openai", "openai:", "bedrock:"] {
            assert!(
                matches!(parse_model_name(name), Err(ModelNameError::MissingModel(_))),
                "{name}"
            );
        }
        assert_eq!(
            ok("embedded:large"),
            Err(ModelNameError::EmbeddedVariant("large".into()))
        );
    }

    #[test]
    fn the_override_variable_is_the_agent_name_in_upper_snake_case() {
        assert_eq!(
            model_override_variable("strategist"),
            "SWITCHYARD_MODEL_STRATEGIST"
        );
        assert_eq!(
            model_override_variable("subject_line_writer"),
            "SWITCHYARD_MODEL_SUBJECT_LINE_WRITER"
        );
        assert_eq!(
            model_override_variable("scoreLead2"),
            "SWITCHYARD_MODEL_SCORE_LEAD2"
        );
    }
}
