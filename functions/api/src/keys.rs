//! API keys: one per tenant (or several), stored only as the SHA-256 hex of the key in the
//! table named by `API_KEYS_TABLE` (`key_hash` S, `tenant_id`, `created_at` epoch ms). The key
//! itself is shown once, when it is created, and kept nowhere.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use switchyard_lambda::store::now_ms;
use switchyard_lambda::{required_var, ConfigError};

/// Marks Switchyard keys, so a leaked one is recognisable (and secret scanners can match it).
pub const KEY_PREFIX: &str = "sy_";
const KEY_BYTES: usize = 32;
const MAX_TENANT_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("tenant `{0}` is not a valid tenant id: use 1 to 64 letters, digits, `-`, `_` or `.`")]
    InvalidTenant(String),
    #[error("no randomness for a new key: {0}")]
    Random(getrandom::Error),
    #[error("API keys table: {0}")]
    Store(String),
}

/// A key just created: the only time its text exists.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub api_key: String,
    pub tenant_id: String,
    /// Epoch milliseconds.
    pub created_at: u64,
}

/// What the table stores for a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub fn validate_tenant(tenant: &str) -> Result<(), KeyError> {
    let valid = (1..=MAX_TENANT_LEN).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(KeyError::InvalidTenant(tenant.to_owned()))
    }
}

fn generate_key() -> Result<String, KeyError> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::getrandom(&mut bytes).map_err(KeyError::Random)?;
    Ok(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

pub struct ApiKeys {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

impl ApiKeys {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<ApiKeys, ConfigError> {
        Ok(ApiKeys {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            table: required_var("API_KEYS_TABLE")?,
        })
    }

    /// Creates a key for `tenant`. The returned text is the only copy.
    pub async fn create(&self, tenant: &str) -> Result<NewKey, KeyError> {
        validate_tenant(tenant)?;
        let api_key = generate_key()?;
        let key_hash = hash_key(&api_key);
        let created_at = now_ms();
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(HashMap::from([
                ("key_hash".to_owned(), AttributeValue::S(key_hash)),
                ("tenant_id".to_owned(), AttributeValue::S(tenant.to_owned())),
                (
                    "created_at".to_owned(),
                    AttributeValue::N(created_at.to_string()),
                ),
            ])))
            // 256 random bits do not collide; the condition makes sure of it.
            .condition_expression("attribute_not_exists(key_hash)")
            .send()
            .await
            .map_err(|e| {
                KeyError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        tracing::info!(tenant_id = tenant, "API key created");
        Ok(NewKey {
            api_key,
            tenant_id: tenant.to_owned(),
            created_at,
        })
    }

    /// The tenant of a key, given its hash.
    pub async fn tenant_of(&self, key_hash: &str) -> Result<Option<String>, KeyError> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("key_hash", AttributeValue::S(key_hash.to_owned()))
            .send()
            .await
            .map_err(|e| {
                KeyError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(item
            .item()
            .and_then(|item| item.get("tenant_id"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hashed_to_hex() {
        let a = generate_key().expect("random");
        let b = generate_key().expect("random");
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tenant_ids_are_short_and_plain() {
        assert!(validate_tenant("tenant-a").is_ok());
        assert!(validate_tenant("acme.eu_1").is_ok());
        for bad in ["", "a b", "x/y", &"t".repeat(65)] {
            assert!(validate_tenant(bad).is_err(), "{bad:?}");
        }
    }
}
