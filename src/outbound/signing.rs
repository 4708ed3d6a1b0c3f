//! Optional signatures on deliveries, in the Standard Webhooks form
//! (<https://www.standardwebhooks.com/>), so a receiver can check that a
//! notification came from this service and was not replayed later:
//!
//! - `webhook-id`: the notification id (the same on every attempt, to deduplicate);
//! - `webhook-timestamp`: the attempt's time, Unix seconds;
//! - `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`,
//!   keyed with the base64-decoded part of the `whsec_...` secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::hmac;

const PREFIX: &str = "whsec_";

/// Signs attempts (and heartbeats) with one secret.
#[derive(Clone)]
pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    /// Parses a `whsec_` + base64 secret; the error says what is wrong with it
    /// (never the secret itself).
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        let encoded = secret
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("must start with {PREFIX:?} followed by base64"))?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| format!("the part after {PREFIX:?} is not valid base64"))?;
        if key.is_empty() {
            return Err(format!("the key after {PREFIX:?} is empty"));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        })
    }

    /// The three headers for one attempt.
    pub fn headers(&self, id: &str, timestamp: i64, body: &str) -> [(&'static str, String); 3] {
        let signed = format!("{id}.{timestamp}.{body}");
        let tag = hmac::sign(&self.key, signed.as_bytes());
        [
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                format!("v1,{}", STANDARD.encode(tag.as_ref())),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_standard_webhooks_reference_example() {
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let [id, timestamp, signature] = signer.headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(id.1, "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(timestamp.1, "1614265330");
        assert_eq!(
            signature.1,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        for (secret, key) in [
            ("MfKQ9r8G", "MfKQ9r8G"),
            ("whsec_not base64!", "not base64!"),
            ("whsec_", ""),
        ] {
            let why = Signer::from_secret(secret).err().expect(secret);
            assert!(key.is_empty() || !why.contains(key), "{why}");
        }
    }
}
