//! The opt-in response cache: a request that asks for it (`ctx.model.chat(prompt)
//! .cache(ttl)`, so `cache_ttl_s` is set) is answered from a reply the same tenant got for
//! the same request from the same model within `ttl`, without calling the provider.
//!
//! The key is the SHA-256 of the tenant, the model's name and the request as canonical JSON
//! (object keys sorted; `cache_ttl_s` left out, so a longer or shorter TTL shares replies):
//! runs of one tenant share replies, tenants never do (the tenant is in the key, stored on
//! the item and checked on every read). Requests without `cache_ttl_s` never touch the
//! table. The cache serves or stores best effort: a read that fails asks the provider, a
//! store that fails is logged, and neither fails the step.

use std::sync::Arc;

use serde_json::Value;
use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Reply};
use switchyard_state::{ModelCacheRecord, State, StateError};

/// Replies larger than this are not cached (a DynamoDB item holds at most 400 KB).
pub const MAX_CACHED_REPLY_BYTES: usize = 350_000;

/// Where replies are kept: the model-cache table, or memory in tests.
pub trait ReplyCache: Send + Sync {
    /// The tenant's reply under `key`, if still fresh at `now_s` (epoch seconds).
    fn get<'a>(
        &'a self,
        key: &'a str,
        tenant: &'a str,
        now_s: u64,
    ) -> BoxFuture<'a, Result<Option<ModelCacheRecord>, StateError>>;

    fn put<'a>(&'a self, record: &'a ModelCacheRecord) -> BoxFuture<'a, Result<(), StateError>>;
}

impl ReplyCache for State {
    fn get<'a>(
        &'a self,
        key: &'a str,
        tenant: &'a str,
        now_s: u64,
    ) -> BoxFuture<'a, Result<Option<ModelCacheRecord>, StateError>> {
        Box::pin(async move { self.model_cache().get(key, tenant, now_s).await })
    }

    fn put<'a>(&'a self, record: &'a ModelCacheRecord) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move { self.model_cache().put(record).await })
    }
}

/// The cache key of `request` from `model` for `tenant`: SHA-256 hex.
pub fn cache_key(tenant: &str, model: &str, request: &ModelRequest) -> String {
    let mut request = request.clone();
    request.cache_ttl_s = None;
    let request = serde_json::to_value(&request).unwrap_or(Value::Null);
    let mut canonical = String::new();
    write_canonical(
        &Value::Array(vec![tenant.into(), model.into(), request]),
        &mut canonical,
    );
    crate::payload::sha256_hex(canonical.as_bytes())
}

/// JSON text with every object's keys in order, whatever order the map kept them in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Now, in epoch seconds.
fn now_s() -> u64 {
    switchyard_state::now_ms() / 1000
}

/// A model handle for one invocation of one tenant's agent: answers opted-in requests from
/// the cache when it can, and keeps the provider's replies to them.
pub struct CachedModel {
    inner: Arc<dyn Model>,
    cache: Arc<dyn ReplyCache>,
    tenant: String,
}

impl CachedModel {
    pub fn new(inner: Arc<dyn Model>, cache: Arc<dyn ReplyCache>, tenant: &str) -> CachedModel {
        CachedModel {
            inner,
            cache,
            tenant: tenant.to_owned(),
        }
    }

    /// A fresh cached reply for `key`, marked as cached; none on a miss or any trouble.
    async fn lookup(&self, key: &str) -> Option<Reply> {
        let record = match self.cache.get(key, &self.tenant, now_s()).await {
            Ok(record) => record?,
            Err(e) => {
                tracing::warn!(error = %e, cache_key = key, "could not read the response cache; asking the model");
                return None;
            }
        };
        match serde_json::from_str::<Reply>(&record.reply) {
            Ok(mut reply) => {
                reply.cached = true;
                tracing::info!(
                    cache_key = key,
                    model = %record.model,
                    tokens_saved = u64::from(reply.tokens_in) + u64::from(reply.tokens_out),
                    "model reply served from the response cache"
                );
                Some(reply)
            }
            Err(e) => {
                tracing::warn!(error = %e, cache_key = key, "a cached reply does not read; asking the model");
                None
            }
        }
    }

    /// Keeps `reply` for `ttl_s` seconds; a failure is logged.
    async fn store(&self, key: &str, ttl_s: u32, reply: &Reply) {
        let text = match serde_json::to_string(reply) {
            Ok(text) if text.len() <= MAX_CACHED_REPLY_BYTES => text,
            Ok(text) => {
                tracing::info!(
                    cache_key = key,
                    bytes = text.len(),
                    "reply too large for the response cache; not cached"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, cache_key = key, "reply does not serialize; not cached");
                return;
            }
        };
        let now_ms = switchyard_state::now_ms();
        let record = ModelCacheRecord {
            cache_key: key.to_owned(),
            tenant_id: self.tenant.clone(),
            model: self.inner.name().to_owned(),
            reply: text,
            created_at: now_ms,
            expires_at: now_ms / 1000 + u64::from(ttl_s),
        };
        if let Err(e) = self.cache.put(&record).await {
            tracing::warn!(error = %e, cache_key = key, "could not store a reply in the response cache");
        }
    }
}

impl Model for CachedModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn cache_identity(&self) -> String {
        self.inner.cache_identity()
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let Some(ttl_s) = request.cache_ttl_s else {
                return self.inner.respond(request).await;
            };
            let key = cache_key(&self.tenant, &self.inner.cache_identity(), request);
            if let Some(reply) = self.lookup(&key).await {
                return Ok(reply);
            }
            let reply = self.inner.respond(request).await?;
            if !reply.cached {
                self.store(&key, ttl_s, &reply).await;
            }
            Ok(reply)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use switchyard_sdk::{EmbeddedModel, Prompt};

    use super::*;

    /// The table in memory; `failing` makes every read and write fail.
    #[derive(Default)]
    pub struct MemoryCache {
        pub items: Mutex<HashMap<String, ModelCacheRecord>>,
        pub failing: bool,
    }

    fn unavailable() -> StateError {
        StateError::MissingTable("model_cache")
    }

    impl ReplyCache for MemoryCache {
        fn get<'a>(
            &'a self,
            key: &'a str,
            tenant: &'a str,
            now_s: u64,
        ) -> BoxFuture<'a, Result<Option<ModelCacheRecord>, StateError>> {
            Box::pin(async move {
                if self.failing {
                    return Err(unavailable());
                }
                let items = self.items.lock().map_err(|_| unavailable())?;
                Ok(items
                    .get(key)
                    .filter(|r| r.tenant_id == tenant && r.fresh(now_s))
                    .cloned())
            })
        }

        fn put<'a>(
            &'a self,
            record: &'a ModelCacheRecord,
        ) -> BoxFuture<'a, Result<(), StateError>> {
            Box::pin(async move {
                if self.failing {
                    return Err(unavailable());
                }
                self.items
                    .lock()
                    .map_err(|_| unavailable())?
                    .insert(record.cache_key.clone(), record.clone());
                Ok(())
            })
        }
    }

    /// The embedded model, counting the requests that reach it.
    #[derive(Default)]
    pub struct CountingModel {
        pub calls: AtomicUsize,
    }

    impl Model for CountingModel {
        fn name(&self) -> &str {
            EmbeddedModel::NAME
        }

        fn respond<'a>(
            &'a self,
            request: &'a ModelRequest,
        ) -> BoxFuture<'a, Result<Reply, ModelError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let mut reply = EmbeddedModel.respond(request).await?;
                reply.cost_usd = 0.01;
                Ok(reply)
            })
        }
    }

    fn request(user: &str, ttl: Option<u32>) -> ModelRequest {
        let mut request = ModelRequest::text(Prompt::new("You summarize.", user));
        request.cache_ttl_s = ttl;
        request
    }

    /// A current-thread runtime: enough for futures that never wait on I/O.
    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn an_opted_in_request_is_answered_once_then_from_the_cache_for_its_tenant_only() {
        let provider = Arc::new(CountingModel::default());
        let cache = Arc::new(MemoryCache::default());
        let a = CachedModel::new(provider.clone(), cache.clone(), "tenant-a");
        let b = CachedModel::new(provider.clone(), cache.clone(), "tenant-b");
        let first = block_on(a.respond(&request("Q3 report", Some(60)))).expect("a reply");
        assert!(!first.cached);
        let again = block_on(a.respond(&request("Q3 report", Some(3600)))).expect("a reply");
        assert!(again.cached, "a different TTL shares the reply");
        assert_eq!(
            (again.text.as_deref(), again.tokens_in, again.cost_usd),
            (first.text.as_deref(), first.tokens_in, 0.01)
        );
        assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
        // Another tenant never sees it, and gets its own.
        let other = block_on(b.respond(&request("Q3 report", Some(60)))).expect("a reply");
        assert!(!other.cached);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
        let items = cache.items.lock().expect("items");
        assert_eq!(items.len(), 2);
        assert!(items.values().all(|r| r.expires_at > now_s()));
        let mut tenants: Vec<&str> = items.values().map(|r| r.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        assert_eq!(tenants, ["tenant-a", "tenant-b"]);
    }

    #[test]
    fn requests_without_a_ttl_never_touch_the_cache() {
        let provider = Arc::new(CountingModel::default());
        let cache = Arc::new(MemoryCache {
            failing: true,
            ..MemoryCache::default()
        });
        let model = CachedModel::new(provider.clone(), cache, "tenant-a");
        for _ in 0..2 {
            let reply = block_on(model.respond(&request("x", None))).expect("a reply");
            assert!(!reply.cached);
        }
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failing_cache_asks_the_provider_and_never_fails_the_exchange() {
        let provider = Arc::new(CountingModel::default());
        let cache = Arc::new(MemoryCache {
            failing: true,
            ..MemoryCache::default()
        });
        let model = CachedModel::new(provider.clone(), cache, "tenant-a");
        let reply = block_on(model.respond(&request("x", Some(60)))).expect("a reply");
        assert!(!reply.cached);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_expired_reply_is_not_served() {
        let provider = Arc::new(CountingModel::default());
        let cache = Arc::new(MemoryCache::default());
        let model = CachedModel::new(provider.clone(), cache.clone(), "tenant-a");
        let asked = request("x", Some(60));
        block_on(model.respond(&asked)).expect("a reply");
        // DynamoDB has not deleted it yet, but its time is up.
        for record in cache.items.lock().expect("items").values_mut() {
            record.expires_at = now_s();
        }
        let reply = block_on(model.respond(&asked)).expect("a reply");
        assert!(!reply.cached);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_key_covers_tenant_model_and_request_but_not_the_ttl_or_key_order() {
        let base = request("x", Some(60));
        let key = cache_key("t", "m", &base);
        assert_eq!(key.len(), 64);
        assert_eq!(key, cache_key("t", "m", &request("x", Some(5))));
        assert_ne!(key, cache_key("u", "m", &base));
        assert_ne!(key, cache_key("t", "n", &base));
        assert_ne!(key, cache_key("t", "m", &request("y", Some(60))));
        let mut warmer = base.clone();
        warmer.prompt.temperature = 0.9;
        assert_ne!(key, cache_key("t", "m", &warmer));
        // The same schema however its keys were ordered.
        let schema = |text: &str| {
            let mut request = base.clone();
            request.output = Some(switchyard_sdk::OutputSchema {
                name: "Brief".into(),
                schema: serde_json::from_str(text).expect("JSON"),
            });
            cache_key("t", "m", &request)
        };
        assert_eq!(
            schema(r#"{"type":"object","required":["a"]}"#),
            schema(r#"{"required":["a"],"type":"object"}"#)
        );
        let mut canonical = String::new();
        write_canonical(
            &serde_json::json!({ "b": [1, { "d": "\"", "c": null }], "a": true }),
            &mut canonical,
        );
        assert_eq!(canonical, r#"{"a":true,"b":[1,{"c":null,"d":"\""}]}"#);
    }
}
