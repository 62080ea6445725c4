//! Signed decision links: one per allowed decision, each carrying the request id, the
//! decision and an expiry, signed with HMAC-SHA256. The task token never leaves DynamoDB.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Minimum secret length: shorter keys make signatures guessable offline.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
    /// Base URL of the callback function (ends with `/`).
    base_url: String,
}

/// The signed parts of a link, as they arrive back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDecision {
    pub request_id: String,
    pub decision: String,
    pub expires: u64,
    pub signature: String,
}

impl LinkSigner {
    pub fn new(secret: &[u8], base_url: &str) -> Option<LinkSigner> {
        if secret.len() < MIN_SECRET_BYTES {
            return None;
        }
        let mut base_url = base_url.to_owned();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Some(LinkSigner {
            secret: secret.to_vec(),
            base_url,
        })
    }

    fn mac(&self, request_id: &str, decision: &str, expires: u64) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        // Length-prefixed so no two (id, decision) pairs produce the same message.
        for part in [request_id.as_bytes(), decision.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&expires.to_be_bytes());
        mac
    }

    pub fn sign(&self, request_id: &str, decision: &str, expires: u64) -> String {
        URL_SAFE_NO_PAD.encode(
            self.mac(request_id, decision, expires)
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of a link's signature.
    pub fn verify(&self, signed: &SignedDecision) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(&signed.signature) else {
            return false;
        };
        self.mac(&signed.request_id, &signed.decision, signed.expires)
            .verify_slice(&signature)
            .is_ok()
    }

    /// The link a person clicks to make `decision`.
    pub fn link(&self, request_id: &str, decision: &str, expires: u64) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("decision", decision)
            .append_pair("expires", &expires.to_string())
            .append_pair("sig", &self.sign(request_id, decision, expires))
            .finish();
        format!("{}approvals/{request_id}?{query}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner::new(&[7u8; 32], "https://cb.example/").expect("long enough")
    }

    fn signed(decision: &str, expires: u64) -> SignedDecision {
        SignedDecision {
            request_id: "r1".into(),
            decision: decision.into(),
            expires,
            signature: signer().sign("r1", decision, expires),
        }
    }

    #[test]
    fn a_signature_verifies_only_for_what_was_signed() {
        assert!(signer().verify(&signed("approve", 100)));
        let mut other_decision = signed("approve", 100);
        other_decision.decision = "reject".into();
        assert!(!signer().verify(&other_decision));
        let mut later = signed("approve", 100);
        later.expires = 200;
        assert!(!signer().verify(&later));
        let mut other_request = signed("approve", 100);
        other_request.request_id = "r2".into();
        assert!(!signer().verify(&other_request));
    }

    #[test]
    fn a_different_secret_or_garbage_signature_is_refused() {
        let other = LinkSigner::new(&[8u8; 32], "https://cb.example/").expect("long enough");
        assert!(!other.verify(&signed("approve", 100)));
        let mut garbage = signed("approve", 100);
        garbage.signature = "!!not base64!!".into();
        assert!(!signer().verify(&garbage));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(LinkSigner::new(b"short", "https://cb.example/").is_none());
    }

    #[test]
    fn links_carry_decision_expiry_and_signature() {
        let link = signer().link("r1", "concept 2", 100);
        assert!(
            link.starts_with("https://cb.example/approvals/r1?decision=concept+2&expires=100&sig="),
            "{link}"
        );
    }
}
