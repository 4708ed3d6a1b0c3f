//! Access tokens: the JWTs that `POST /connect/token` issues (OAuth2 client
//! credentials, RFC 6749 section 4.4) and the API accepts as bearer tokens.
//!
//! HS256 over a key from `auth.signing_key` (or, when none is configured, 32
//! random bytes made at start: such tokens do not survive a restart). The
//! claims are `iss`, `sub` (the client id), `iat`, `exp`, `scope` when one was
//! asked for, and `program_manager_code`, the program manager the token acts
//! for (Thredd's v2 API reads the program manager from the token's claims). A
//! token is accepted only with this service's key, algorithm and issuer, and
//! before its `exp` by the service's clock (no leeway); `alg=none` and every
//! other algorithm are refused.

use std::sync::Arc;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Clock, PmCode};

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub program_manager_code: String,
}

/// Why a presented access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not one this service issued")]
    NotOurs,
}

/// Issues and checks access tokens.
pub struct AccessTokens {
    issuer: String,
    lifetime_s: i64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    clock: Arc<dyn Clock>,
}

impl AccessTokens {
    pub fn new(issuer: String, lifetime_s: u64, key: &[u8], clock: Arc<dyn Clock>) -> Self {
        Self {
            issuer,
            lifetime_s: i64::try_from(lifetime_s).unwrap_or(i64::MAX),
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            clock,
        }
    }

    pub fn lifetime_s(&self) -> i64 {
        self.lifetime_s
    }

    /// A new token for `client`, acting for `pm`.
    pub fn issue(
        &self,
        client: &str,
        pm: &PmCode,
        scope: Option<String>,
    ) -> Result<String, String> {
        let iat = self.clock.now().unix_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client.to_owned(),
            iat,
            exp: iat.saturating_add(self.lifetime_s),
            scope,
            program_manager_code: pm.as_str().to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The program manager of a valid token.
    pub fn verify(&self, token: &str) -> Result<PmCode, Invalid> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Expiry is checked below against the service's clock.
        validation.validate_exp = false;
        let claims = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| Invalid::NotOurs)?
            .claims;
        if self.clock.now().unix_timestamp() >= claims.exp {
            return Err(Invalid::Expired);
        }
        PmCode::parse(&claims.program_manager_code).map_err(|_| Invalid::NotOurs)
    }
}

/// Whether a bearer token is shaped like a JWT (three dot-separated parts), so
/// that it is checked as an access token rather than looked up as a static one.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use time::macros::datetime;

    use super::*;
    use crate::domain::TestClock;

    fn tokens(key: &[u8]) -> (AccessTokens, Arc<TestClock>) {
        let clock = Arc::new(TestClock::at(datetime!(2026-01-01 00:00 UTC)));
        let tokens = AccessTokens::new("webhook-manager".into(), 60, key, clock.clone());
        (tokens, clock)
    }

    fn trd() -> PmCode {
        PmCode::parse("TRD").expect("pm")
    }

    #[test]
    fn a_token_names_its_program_manager_until_it_expires() {
        let (tokens, clock) = tokens(b"0123456789abcdef0123456789abcdef");
        let token = tokens
            .issue("client-a", &trd(), Some("webhooks".into()))
            .expect("issue");
        assert!(looks_like_jwt(&token));
        assert_eq!(tokens.verify(&token), Ok(trd()));
        clock.advance(time::Duration::seconds(59));
        assert_eq!(tokens.verify(&token), Ok(trd()), "one second before exp");
        clock.advance(time::Duration::seconds(1));
        assert_eq!(tokens.verify(&token), Err(Invalid::Expired), "at exp");
    }

    #[test]
    fn tampered_foreign_and_unsigned_tokens_are_refused() {
        let (tokens, _) = tokens(b"0123456789abcdef0123456789abcdef");
        let token = tokens.issue("client-a", &trd(), None).expect("issue");
        let parts: Vec<&str> = token.split('.').collect();

        // Another program manager in the payload, the signature kept.
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("payload");
        let forged = String::from_utf8(payload)
            .expect("utf8")
            .replace("\"TRD\"", "\"ABC\"");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged),
            parts[2]
        );
        assert_eq!(tokens.verify(&tampered), Err(Invalid::NotOurs));

        // alg=none, no signature.
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            tokens.verify(&format!("{none}.{}.", parts[1])),
            Err(Invalid::NotOurs)
        );

        // Signed with another key, or by another issuer.
        let (other, _) = tokens_with_issuer(b"another key, 32 bytes long......", "webhook-manager");
        let foreign = other.issue("client-a", &trd(), None).expect("issue");
        assert_eq!(tokens.verify(&foreign), Err(Invalid::NotOurs));
        let (other, _) = tokens_with_issuer(b"0123456789abcdef0123456789abcdef", "elsewhere");
        let foreign = other.issue("client-a", &trd(), None).expect("issue");
        assert_eq!(tokens.verify(&foreign), Err(Invalid::NotOurs));

        assert_eq!(tokens.verify("not.a.token"), Err(Invalid::NotOurs));
    }

    fn tokens_with_issuer(key: &[u8], issuer: &str) -> (AccessTokens, Arc<TestClock>) {
        let clock = Arc::new(TestClock::at(datetime!(2026-01-01 00:00 UTC)));
        let tokens = AccessTokens::new(issuer.into(), 60, key, clock.clone());
        (tokens, clock)
    }
}
