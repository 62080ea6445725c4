//! Signed decision links: one per allowed decision (and, on a gate with designated
//! approvers, one set per approver), each carrying the request id, the decision, the
//! approver when there is one and an expiry, signed with HMAC-SHA256. The task token never
//! leaves DynamoDB.
//!
//! Links name the key that signed them (`kid`, a digest prefix of the secret, never the
//! secret), so the secret can be rotated: the newest key signs, every listed key verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Minimum secret length: shorter keys make signatures guessable offline.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
struct SigningKey {
    id: String,
    secret: Vec<u8>,
}

impl SigningKey {
    fn new(secret: &[u8]) -> Option<SigningKey> {
        if secret.len() < MIN_SECRET_BYTES {
            return None;
        }
        let id = Sha256::digest(secret)
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(SigningKey {
            id,
            secret: secret.to_vec(),
        })
    }
}

#[derive(Clone)]
pub struct LinkSigner {
    /// The first signs; all verify (older keys keep open links valid across a rotation).
    keys: Vec<SigningKey>,
    /// Base URL of the callback function (ends with `/`).
    base_url: String,
}

/// The signed parts of a link, as they arrive back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDecision {
    pub request_id: String,
    pub decision: String,
    /// The designated approver the link was made for; `None` on an undesignated gate.
    pub approver: Option<String>,
    pub expires: u64,
    /// Which key signed (absent on links made before key ids: the current key).
    pub key_id: Option<String>,
    pub signature: String,
}

impl LinkSigner {
    pub fn new(secret: &[u8], base_url: &str) -> Option<LinkSigner> {
        LinkSigner::rotating(&[secret], base_url)
    }

    /// Several secrets, newest first: the newest signs, every one verifies.
    pub fn rotating(secrets: &[&[u8]], base_url: &str) -> Option<LinkSigner> {
        let keys = secrets
            .iter()
            .map(|s| SigningKey::new(s))
            .collect::<Option<Vec<_>>>()?;
        if keys.is_empty() {
            return None;
        }
        let mut base_url = base_url.to_owned();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Some(LinkSigner { keys, base_url })
    }

    /// The link secret parameter's value as deployed (see [`super::secret`]): one secret,
    /// or several separated by commas, newest first.
    pub fn from_secret_list(list: &str, base_url: &str) -> Option<LinkSigner> {
        let secrets: Vec<&[u8]> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::as_bytes)
            .collect();
        LinkSigner::rotating(&secrets, base_url)
    }

    fn mac(
        key: &SigningKey,
        request_id: &str,
        decision: &str,
        approver: Option<&str>,
        expires: u64,
    ) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&key.secret).expect("HMAC takes keys of any length");
        // Length-prefixed so no two (id, decision, approver) tuples produce the same message;
        // a link with an approver is 8 bytes longer at least than any link without.
        let mut parts = vec![request_id.as_bytes(), decision.as_bytes()];
        if let Some(approver) = approver {
            parts.push(approver.as_bytes());
        }
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&expires.to_be_bytes());
        mac
    }

    /// The id (`kid`) of the key new links are signed with: a digest prefix, not secret.
    pub fn signing_key_id(&self) -> &str {
        &self.signing_key().id
    }

    /// The ids of every key that verifies, the signing one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    fn signing_key(&self) -> &SigningKey {
        // `rotating` refuses an empty list.
        &self.keys[0]
    }

    pub fn sign(
        &self,
        request_id: &str,
        decision: &str,
        approver: Option<&str>,
        expires: u64,
    ) -> String {
        URL_SAFE_NO_PAD.encode(
            Self::mac(self.signing_key(), request_id, decision, approver, expires)
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of a link's signature, with the key the link names.
    pub fn verify(&self, signed: &SignedDecision) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(&signed.signature) else {
            return false;
        };
        // Links made before key ids existed name no key: any listed key may have signed.
        self.keys
            .iter()
            .filter(|k| signed.key_id.as_ref().is_none_or(|id| &k.id == id))
            .any(|key| {
                Self::mac(
                    key,
                    &signed.request_id,
                    &signed.decision,
                    signed.approver.as_deref(),
                    signed.expires,
                )
                .verify_slice(&signature)
                .is_ok()
            })
    }

    /// The link a person clicks to make `decision` (a gate without designated approvers).
    pub fn link(&self, request_id: &str, decision: &str, expires: u64) -> String {
        self.make_link(request_id, decision, None, expires)
    }

    /// The link only `approver` gets, to make `decision` as themselves.
    pub fn approver_link(
        &self,
        request_id: &str,
        decision: &str,
        approver: &str,
        expires: u64,
    ) -> String {
        self.make_link(request_id, decision, Some(approver), expires)
    }

    fn make_link(
        &self,
        request_id: &str,
        decision: &str,
        approver: Option<&str>,
        expires: u64,
    ) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("decision", decision);
        if let Some(approver) = approver {
            query.append_pair("approver", approver);
        }
        query
            .append_pair("expires", &expires.to_string())
            .append_pair("kid", &self.signing_key().id)
            .append_pair("sig", &self.sign(request_id, decision, approver, expires));
        format!("{}approvals/{request_id}?{}", self.base_url, query.finish())
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
            approver: None,
            expires,
            key_id: None,
            signature: signer().sign("r1", decision, None, expires),
        }
    }

    /// The signed parts of a link, as the callback reads them back.
    fn parse(link: &str) -> SignedDecision {
        let (path, query) = link.split_once('?').expect("a query");
        let params: std::collections::HashMap<String, String> =
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        SignedDecision {
            request_id: path.rsplit('/').next().unwrap_or_default().to_owned(),
            decision: params["decision"].clone(),
            approver: params.get("approver").cloned(),
            expires: params["expires"].parse().expect("a number"),
            key_id: params.get("kid").cloned(),
            signature: params["sig"].clone(),
        }
    }

    #[test]
    fn an_approvers_link_names_them_and_cannot_be_moved_to_someone_else() {
        let link = signer().approver_link("r1", "approve", "cfo@acme.test", 100);
        let mut signed = parse(&link);
        assert_eq!(signed.approver.as_deref(), Some("cfo@acme.test"));
        assert!(signer().verify(&signed));
        signed.approver = Some("mallory@evil.test".into());
        assert!(!signer().verify(&signed));
        signed.approver = None;
        assert!(
            !signer().verify(&signed),
            "dropping the approver voids the link"
        );
        let undesignated = parse(&signer().link("r1", "approve", 100));
        let mut claimed = undesignated.clone();
        claimed.approver = Some("cfo@acme.test".into());
        assert!(signer().verify(&undesignated) && !signer().verify(&claimed));
    }

    #[test]
    fn links_stay_valid_across_a_rotation_and_unknown_keys_are_refused() {
        let old = LinkSigner::new(&[7u8; 32], "https://cb.example/").expect("long enough");
        let open_link = parse(&old.link("r1", "approve", 100));
        let rotated = LinkSigner::rotating(&[&[9u8; 32], &[7u8; 32]], "https://cb.example/")
            .expect("long enough");
        assert!(
            rotated.verify(&open_link),
            "an open link survives the rotation"
        );
        let new_link = parse(&rotated.link("r1", "approve", 100));
        assert_ne!(new_link.key_id, open_link.key_id);
        assert!(rotated.verify(&new_link) && !old.verify(&new_link));
        let mut unknown = open_link.clone();
        unknown.key_id = Some("00000000".into());
        assert!(!rotated.verify(&unknown));
        let list =
            LinkSigner::from_secret_list(&format!("{},{}", "a".repeat(32), "b".repeat(40)), "/");
        assert!(list.is_some());
        assert!(LinkSigner::from_secret_list(&format!("{},short", "a".repeat(32)), "/").is_none());
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
            link.starts_with("https://cb.example/approvals/r1?decision=concept+2&expires=100&kid="),
            "{link}"
        );
    }
}
