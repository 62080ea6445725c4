//! View links: a run's page for people without an API key. A link carries a random token
//! (256 bits, `syv_` + base64url); the view links table stores only its SHA-256, with the
//! tenant, the run and the expiry. A token shows that one run's page and the JSON its script
//! polls, until it expires, and nothing else: it lives in its own table, so no lookup of an
//! API key can ever find it, and no other endpoint reads the `view` parameter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::http::ApiRequest;
use crate::keys::hash_key;
use switchyard_state::ViewLinkRecord;

/// Marks view tokens, so one is recognisable (and never mistaken for an `sy_` API key).
pub const TOKEN_PREFIX: &str = "syv_";
const TOKEN_BYTES: usize = 32;
/// How long a link works unless asked otherwise, and the bounds of `ttl_seconds`.
pub const DEFAULT_TTL_SECONDS: u64 = 3_600;
pub const MIN_TTL_SECONDS: u64 = 60;
pub const MAX_TTL_SECONDS: u64 = 86_400;

/// Why a view link shows nothing. Each answers with its own status; none touches the run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ViewRefusal {
    #[error("this page needs a view link: ask for one with `switchyard runs open RUN_ID` (or `POST /runs/RUN_ID/view`)")]
    Missing,
    /// Not a token we made, or not one we have: tampered with, cut short, made up.
    #[error(
        "this view link is not valid: it may have been cut short or changed; ask for a new one"
    )]
    Invalid,
    #[error("this view link is for another run")]
    OtherRun,
    #[error(
        "this view link expired at {at}; ask for a new one with `switchyard runs open RUN_ID`"
    )]
    Expired {
        /// When, as the page writes times.
        at: String,
    },
}

impl ViewRefusal {
    pub fn status(&self) -> u16 {
        match self {
            ViewRefusal::Missing => 401,
            ViewRefusal::Invalid | ViewRefusal::OtherRun => 403,
            ViewRefusal::Expired { .. } => 410,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ViewRefusal::Missing => "view_link_required",
            ViewRefusal::Invalid => "invalid_view_link",
            ViewRefusal::OtherRun => "view_link_for_another_run",
            ViewRefusal::Expired { .. } => "view_link_expired",
        }
    }
}

/// A new token: the only time its text exists.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::getrandom(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What the table stores for a token.
pub fn hash_token(token: &str) -> String {
    hash_key(token)
}

/// Whether `token` has the shape of one we make (checked before any lookup).
pub fn well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    })
}

/// The link `token` names, if it shows `run_id` at `now` (epoch ms).
pub fn check(
    link: Option<ViewLinkRecord>,
    run_id: &str,
    now: u64,
) -> Result<ViewLinkRecord, ViewRefusal> {
    let link = link.ok_or(ViewRefusal::Invalid)?;
    if link.run_id != run_id {
        return Err(ViewRefusal::OtherRun);
    }
    if !link.usable(now) {
        return Err(ViewRefusal::Expired {
            at: crate::run_page::format::timestamp(link.expires_at),
        });
    }
    Ok(link)
}

/// `https://host` as the client reached the API (`Host`, and `X-Forwarded-Proto` as Function
/// URLs and `switchyard serve` set it), so links work where the caller is; `None` without a
/// usable `Host`.
pub fn public_base(request: &ApiRequest) -> Option<String> {
    let host = request.header("host").map(str::trim)?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plain {
        return None;
    }
    let scheme = match request.header("x-forwarded-proto").map(str::trim) {
        Some("http") => "http",
        _ => "https",
    };
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_well_formed_and_hashed() {
        let a = generate_token().expect("random");
        let b = generate_token().expect("random");
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b), "{a}");
        assert_eq!(hash_token(&a).len(), 64);
        for bad in [
            "",
            "syv_",
            "sy_abc",
            &format!("{a}x"),
            &a.replace("syv_", "sy_"),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn a_link_shows_its_own_run_until_it_expires() {
        let link = ViewLinkRecord {
            token_hash: "h".into(),
            tenant_id: "t".into(),
            run_id: "r1".into(),
            created_at: 0,
            expires_at: 1_000,
        };
        assert_eq!(
            check(Some(link.clone()), "r1", 999).ok(),
            Some(link.clone())
        );
        assert_eq!(check(None, "r1", 0), Err(ViewRefusal::Invalid));
        assert_eq!(
            check(Some(link.clone()), "r2", 0),
            Err(ViewRefusal::OtherRun)
        );
        let expired = check(Some(link), "r1", 1_000).map_err(|e| e.status());
        assert_eq!(expired, Err(410));
    }

    #[test]
    fn links_point_where_the_caller_reached_the_api() {
        let request =
            ApiRequest::new("POST", "/runs/r/view").with_header("Host", "abc.lambda-url.on.aws");
        assert_eq!(
            public_base(&request).as_deref(),
            Some("https://abc.lambda-url.on.aws")
        );
        let local = ApiRequest::new("POST", "/runs/r/view")
            .with_header("host", "x.lambda-url.us-east-1.localhost:4566")
            .with_header("x-forwarded-proto", "http");
        assert_eq!(
            public_base(&local).as_deref(),
            Some("http://x.lambda-url.us-east-1.localhost:4566")
        );
        let odd = ApiRequest::new("POST", "/").with_header("host", "evil.test/<script>");
        assert_eq!(public_base(&odd), None);
        assert_eq!(public_base(&ApiRequest::new("POST", "/")), None);
    }
}
