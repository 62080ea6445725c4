//! API keys: one per tenant (or several), stored only as the SHA-256 hex of the key in the
//! table named by `API_KEYS_TABLE` (`key_hash` S, `tenant_id`, `created_at` epoch ms, and
//! optionally `expires_at` and `revoked_at`, epoch ms). The key itself is shown once, when it
//! is created, and kept nowhere. A key is known by its id, the first [`KEY_ID_LEN`] hex
//! digits of its hash: `list` shows ids, `revoke` takes one; a revoked or expired key
//! authenticates nobody.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use switchyard_state::{now_ms, ApiKeyRecord, State, StateError};

/// Marks Switchyard keys, so a leaked one is recognisable (and secret scanners can match it).
pub const KEY_PREFIX: &str = "sy_";
const KEY_BYTES: usize = 32;
const MAX_TENANT_LEN: usize = 64;
/// Hex digits of a key's hash that name it (in listings, revocations and decision records).
pub const KEY_ID_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("tenant `{0}` is not a valid tenant id: use 1 to 64 letters, digits, `-`, `_` or `.`")]
    InvalidTenant(String),
    #[error("no randomness for a new key: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StateError),
    #[error("no key with id `{0}`")]
    UnknownKey(String),
    #[error("key id `{0}` is ambiguous: give more of it")]
    AmbiguousKey(String),
    #[error("a new key's hash is already stored: try again")]
    Collision,
}

/// A stored key as listings show it (never the key, never the whole hash).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub key_id: String,
    pub tenant_id: String,
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub revoked_at: Option<u64>,
}

impl KeyInfo {
    /// Whether the key authenticates at `now` (epoch ms).
    pub fn usable(&self, now: u64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

impl From<&ApiKeyRecord> for KeyInfo {
    fn from(record: &ApiKeyRecord) -> KeyInfo {
        KeyInfo {
            key_id: key_id(&record.key_hash),
            tenant_id: record.tenant_id.clone(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// The id of a key, from its hash.
pub fn key_id(key_hash: &str) -> String {
    key_hash.chars().take(KEY_ID_LEN).collect()
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
    state: State,
}

impl ApiKeys {
    pub fn new(state: State) -> ApiKeys {
        ApiKeys { state }
    }

    /// The deployment's keys table, named by the environment.
    pub fn from_env(
        config: &aws_config::SdkConfig,
    ) -> Result<ApiKeys, switchyard_lambda::ConfigError> {
        Ok(ApiKeys::new(switchyard_lambda::state_from_env(config)?))
    }

    /// Creates a key for `tenant`. The returned text is the only copy.
    pub async fn create(&self, tenant: &str) -> Result<NewKey, KeyError> {
        self.create_expiring(tenant, None).await
    }

    /// Creates a key for `tenant` that stops working at `expires_at` (epoch ms), if given.
    pub async fn create_expiring(
        &self,
        tenant: &str,
        expires_at: Option<u64>,
    ) -> Result<NewKey, KeyError> {
        validate_tenant(tenant)?;
        let api_key = generate_key()?;
        let record = ApiKeyRecord {
            key_hash: hash_key(&api_key),
            tenant_id: tenant.to_owned(),
            created_at: now_ms(),
            expires_at,
            revoked_at: None,
        };
        // 256 random bits do not collide; the store's conditional create makes sure of it.
        if !self.state.api_keys().create(&record).await? {
            return Err(KeyError::Collision);
        }
        tracing::info!(tenant_id = tenant, "API key created");
        Ok(NewKey {
            api_key,
            tenant_id: record.tenant_id,
            created_at: record.created_at,
        })
    }

    /// The tenant of a key, given its hash, while the key is neither revoked nor expired.
    pub async fn tenant_of(&self, key_hash: &str) -> Result<Option<String>, KeyError> {
        Ok(self
            .state
            .api_keys()
            .get(key_hash)
            .await?
            .filter(|key| key.usable(now_ms()))
            .map(|key| key.tenant_id))
    }

    /// Every key (of `tenant`, if given), oldest first. An operator's listing: it scans.
    pub async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyInfo>, KeyError> {
        let mut keys: Vec<KeyInfo> = self
            .state
            .api_keys()
            .all()
            .await?
            .iter()
            .filter(|k| tenant.is_none_or(|t| k.tenant_id == t))
            .map(KeyInfo::from)
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
        Ok(keys)
    }

    /// Revokes the key whose id starts with `key_id` (at least 8 hex digits, one key only).
    pub async fn revoke(&self, key_id: &str) -> Result<KeyInfo, KeyError> {
        let wanted = key_id.trim().to_ascii_lowercase();
        if wanted.len() < 8 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::UnknownKey(key_id.to_owned()));
        }
        let found: Vec<ApiKeyRecord> = self
            .state
            .api_keys()
            .all()
            .await?
            .into_iter()
            .filter(|k| k.key_hash.starts_with(&wanted))
            .collect();
        let hash = match found.as_slice() {
            [] => return Err(KeyError::UnknownKey(key_id.to_owned())),
            [one] => one.key_hash.clone(),
            _ => return Err(KeyError::AmbiguousKey(key_id.to_owned())),
        };
        let revoked = self
            .state
            .api_keys()
            .revoke(&hash)
            .await?
            .ok_or_else(|| KeyError::UnknownKey(key_id.to_owned()))?;
        let info = KeyInfo::from(&revoked);
        tracing::info!(tenant_id = %info.tenant_id, key_id = %info.key_id, "API key revoked");
        Ok(info)
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
    fn revoked_and_expired_keys_are_not_usable() {
        let key = KeyInfo {
            key_id: "abcdef012345".into(),
            tenant_id: "t".into(),
            created_at: 1,
            expires_at: None,
            revoked_at: None,
        };
        assert!(key.usable(10));
        let expiring = KeyInfo {
            expires_at: Some(10),
            ..key.clone()
        };
        assert!(expiring.usable(9) && !expiring.usable(10));
        let revoked = KeyInfo {
            revoked_at: Some(5),
            ..key.clone()
        };
        assert!(!revoked.usable(1));
        let record = ApiKeyRecord {
            key_hash: "a".repeat(64),
            tenant_id: "t".into(),
            created_at: 1,
            expires_at: None,
            revoked_at: Some(2),
        };
        let read = KeyInfo::from(&record);
        assert_eq!(read.key_id, "a".repeat(KEY_ID_LEN));
        assert!(!read.usable(0));
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
