/// What a model charges, in USD per million tokens.
///
/// [`Price::for_model`] knows the public list prices of a handful of well-known models;
/// `PRIMARY_MODEL`'s price can be overridden with `MODEL_PRICE_INPUT_PER_MTOK` and
/// `MODEL_PRICE_OUTPUT_PER_MTOK` (see [`ModelSpec`](crate::ModelSpec)). A model that is
/// neither in the table nor overridden is priced at zero ([`Price::default`]), so its
/// completions report `cost_usd: 0.0` rather than a guess.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Model families by the prefix of their id, with on-demand list prices (USD per million
/// input and output tokens) as published by OpenAI, Anthropic and AWS (us-east-1) in 2025.
/// Claude is priced the same on Bedrock as on Anthropic's own API.
const PRICE_TABLE: &[(&str, Price)] = &[
    ("gpt-4o-mini", Price::per_mtok(0.15, 0.60)),
    ("gpt-4o", Price::per_mtok(2.50, 10.00)),
    ("gpt-4.1-nano", Price::per_mtok(0.10, 0.40)),
    ("gpt-4.1-mini", Price::per_mtok(0.40, 1.60)),
    ("gpt-4.1", Price::per_mtok(2.00, 8.00)),
    ("claude-3-haiku", Price::per_mtok(0.25, 1.25)),
    ("claude-3-5-haiku", Price::per_mtok(0.80, 4.00)),
    ("claude-haiku-4-5", Price::per_mtok(1.00, 5.00)),
    ("claude-3-5-sonnet", Price::per_mtok(3.00, 15.00)),
    ("claude-3-7-sonnet", Price::per_mtok(3.00, 15.00)),
    ("claude-sonnet-4", Price::per_mtok(3.00, 15.00)),
    ("nova-micro", Price::per_mtok(0.035, 0.14)),
    ("nova-lite", Price::per_mtok(0.06, 0.24)),
    ("nova-pro", Price::per_mtok(0.80, 3.20)),
];

const TOKENS_PER_MTOK: f64 = 1_000_000.0;

impl Price {
    pub const fn per_mtok(input_per_mtok: f64, output_per_mtok: f64) -> Self {
        Price {
            input_per_mtok,
            output_per_mtok,
        }
    }

    /// The list price of a known model family, or `None`.
    ///
    /// Ids are matched by family prefix, either at the start (`gpt-4o-mini-2024-07-18`,
    /// `claude-3-5-haiku-latest`) or after a dot, which skips Bedrock's vendor and
    /// cross-region prefixes (`us.anthropic.claude-3-5-haiku-20241022-v1:0`,
    /// `amazon.nova-lite-v1:0`). The longest matching family wins, so `gpt-4o-mini` is not
    /// priced as `gpt-4o`.
    pub fn for_model(model_id: &str) -> Option<Price> {
        PRICE_TABLE
            .iter()
            .filter(|(family, _)| {
                model_id.starts_with(family)
                    || model_id
                        .match_indices(family)
                        .any(|(at, _)| model_id[..at].ends_with('.'))
            })
            .max_by_key(|(family, _)| family.len())
            .map(|(_, price)| *price)
    }

    pub fn cost_usd(&self, tokens_in: u32, tokens_out: u32) -> f64 {
        (f64::from(tokens_in) * self.input_per_mtok + f64::from(tokens_out) * self.output_per_mtok)
            / TOKENS_PER_MTOK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_and_aliased_ids_find_their_family() {
        assert_eq!(
            Price::for_model("gpt-4o-mini-2024-07-18"),
            Some(Price::per_mtok(0.15, 0.60))
        );
        assert_eq!(
            Price::for_model("gpt-4o-2024-08-06"),
            Some(Price::per_mtok(2.50, 10.00))
        );
        assert_eq!(
            Price::for_model("gpt-4.1-mini"),
            Some(Price::per_mtok(0.40, 1.60))
        );
        assert_eq!(
            Price::for_model("claude-3-5-haiku-latest"),
            Some(Price::per_mtok(0.80, 4.00))
        );
        assert_eq!(
            Price::for_model("claude-sonnet-4-20250514"),
            Some(Price::per_mtok(3.00, 15.00))
        );
    }

    #[test]
    fn bedrock_ids_skip_vendor_and_region_prefixes() {
        assert_eq!(
            Price::for_model("anthropic.claude-3-haiku-20240307-v1:0"),
            Some(Price::per_mtok(0.25, 1.25))
        );
        assert_eq!(
            Price::for_model("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            Some(Price::per_mtok(0.80, 4.00))
        );
        assert_eq!(
            Price::for_model("amazon.nova-lite-v1:0"),
            Some(Price::per_mtok(0.06, 0.24))
        );
    }

    #[test]
    fn unknown_models_have_no_price() {
        assert_eq!(Price::for_model("llama3.1:8b"), None);
        assert_eq!(Price::for_model("my-gpt-4o"), None);
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let price = Price::per_mtok(0.15, 0.60);
        let cost = price.cost_usd(1_000_000, 500_000);
        assert!((cost - 0.45).abs() < 1e-12, "{cost}");
        assert_eq!(Price::default().cost_usd(1_000, 1_000), 0.0);
    }
}
