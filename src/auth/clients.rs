//! OAuth2 clients (`[[auth.clients]]`): each has an id, a secret (kept only as
//! its SHA-256, which a config file may give instead of the secret) and the
//! program manager its access tokens act for. A presented secret's digest is
//! compared with the client's in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::digest::{parse_hex, sha256, MIN_TOKEN_LEN};
use crate::config::{AuthSettings, ConfigError};
use crate::domain::PmCode;

/// The id of the sandbox's default client.
pub const SANDBOX_CLIENT: &str = "sandbox";

/// The configured clients, ready to check.
#[derive(Debug, Default)]
pub struct Clients {
    entries: Vec<Client>,
    /// The sandbox's default client's secret, made at start, to print.
    sandbox_secret: Option<String>,
}

#[derive(Debug)]
struct Client {
    id: String,
    secret: [u8; 32],
    pm: PmCode,
}

impl Clients {
    /// Checks `[[auth.clients]]`. With none configured and `sandbox` true, the
    /// default client `sandbox` with a random secret, acting for
    /// `auth.sandbox_client` (when that is not empty).
    pub fn from_settings(settings: &AuthSettings, sandbox: bool) -> Result<Self, ConfigError> {
        let mut entries: Vec<Client> = Vec::with_capacity(settings.clients.len());
        for (i, entry) in settings.clients.iter().enumerate() {
            let key = format!("auth.clients[{i}]");
            let id = entry.client_id.trim();
            if id.is_empty() || id.len() > 200 {
                return Err(ConfigError::new(
                    format!("{key}.client_id"),
                    "must be 1 to 200 characters",
                ));
            }
            if entries.iter().any(|c| c.id == id) {
                return Err(ConfigError::new(
                    format!("{key}.client_id"),
                    "the same client id is configured twice",
                ));
            }
            let pm = PmCode::parse(&entry.program_manager_code)
                .map_err(|p| ConfigError::new(format!("{key}.program_manager_code"), p.message))?;
            let secret = match (&entry.client_secret, &entry.client_secret_sha256) {
                (Some(secret), None) if secret.len() >= MIN_TOKEN_LEN => sha256(secret),
                (Some(_), None) => {
                    return Err(ConfigError::new(
                        format!("{key}.client_secret"),
                        format!("must be at least {MIN_TOKEN_LEN} characters"),
                    ))
                }
                (None, Some(hex)) => parse_hex(hex).ok_or_else(|| {
                    ConfigError::new(
                        format!("{key}.client_secret_sha256"),
                        "must be 64 hex digits",
                    )
                })?,
                _ => {
                    return Err(ConfigError::new(
                        key,
                        "give exactly one of client_secret or client_secret_sha256",
                    ))
                }
            };
            entries.push(Client {
                id: id.to_owned(),
                secret,
                pm,
            });
        }
        let mut sandbox_secret = None;
        if entries.is_empty() && sandbox && !settings.sandbox_client.is_empty() {
            let pm = PmCode::parse(&settings.sandbox_client)
                .map_err(|p| ConfigError::new("auth.sandbox_client", p.message))?;
            let secret = URL_SAFE_NO_PAD.encode(random_bytes::<24>());
            entries.push(Client {
                id: SANDBOX_CLIENT.into(),
                secret: sha256(&secret),
                pm,
            });
            sandbox_secret = Some(secret);
        }
        Ok(Self {
            entries,
            sandbox_secret,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sandbox's default client, when there is one: its program manager
    /// and secret, for the start-up log.
    pub fn sandbox(&self) -> Option<(&PmCode, &str)> {
        let secret = self.sandbox_secret.as_deref()?;
        let client = self.entries.iter().find(|c| c.id == SANDBOX_CLIENT)?;
        Some((&client.pm, secret))
    }

    /// The program manager of the client with this id and secret; every
    /// client's secret is compared, whichever matches.
    pub fn authenticate(&self, id: &str, secret: &str) -> Option<PmCode> {
        let presented = sha256(secret);
        let mut found = None;
        for client in &self.entries {
            let secret_ok = bool::from(client.secret.ct_eq(&presented));
            if secret_ok && client.id == id {
                found = Some(client.pm.clone());
            }
        }
        found
    }
}

/// `N` random bytes from the system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(16) {
        let random = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientSettings;

    fn settings(clients: Vec<ClientSettings>) -> AuthSettings {
        AuthSettings {
            clients,
            ..AuthSettings::default()
        }
    }

    #[test]
    fn a_client_signs_in_with_its_secret_or_its_digest() {
        let digest = "6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090"; // sha256("abc123")
        let clients = Clients::from_settings(
            &settings(vec![
                ClientSettings {
                    client_id: "a".into(),
                    client_secret: Some("secret-of-client-a".into()),
                    client_secret_sha256: None,
                    program_manager_code: "TRD".into(),
                },
                ClientSettings {
                    client_id: "b".into(),
                    client_secret: None,
                    client_secret_sha256: Some(digest.into()),
                    program_manager_code: "ABC".into(),
                },
            ]),
            true,
        )
        .expect("clients");
        let pm = |c: &str| PmCode::parse(c).expect("pm");
        assert_eq!(
            clients.authenticate("a", "secret-of-client-a"),
            Some(pm("TRD"))
        );
        assert_eq!(clients.authenticate("b", "abc123"), Some(pm("ABC")));
        assert_eq!(clients.authenticate("a", "abc123"), None, "b's secret");
        assert_eq!(clients.authenticate("c", "secret-of-client-a"), None);
        assert_eq!(clients.sandbox(), None, "configured clients: no default");
    }

    #[test]
    fn the_sandbox_default_client_has_a_random_secret() {
        let auth = AuthSettings {
            sandbox_client: "TRD".into(),
            ..AuthSettings::default()
        };
        let clients = Clients::from_settings(&auth, true).expect("clients");
        let (pm, secret) = clients.sandbox().expect("default client");
        assert_eq!(pm.as_str(), "TRD");
        assert!(secret.len() >= 32);
        assert!(clients.authenticate(SANDBOX_CLIENT, secret).is_some());
        let again = Clients::from_settings(&auth, true).expect("clients");
        assert_ne!(
            again.sandbox().map(|(_, s)| s.to_owned()),
            Some(secret.to_owned())
        );
        assert!(Clients::from_settings(&auth, false)
            .expect("on-prem")
            .is_empty());
    }

    #[test]
    fn bad_entries_name_their_key() {
        let entry = |id: &str, secret: Option<&str>, pm: &str| ClientSettings {
            client_id: id.into(),
            client_secret: secret.map(Into::into),
            client_secret_sha256: None,
            program_manager_code: pm.into(),
        };
        for (entry, key) in [
            (
                entry("", Some("long enough secret"), "TRD"),
                "auth.clients[0].client_id",
            ),
            (
                entry("a", Some("short"), "TRD"),
                "auth.clients[0].client_secret",
            ),
            (entry("a", None, "TRD"), "auth.clients[0]"),
            (
                entry("a", Some("long enough secret"), "x"),
                "auth.clients[0].program_manager_code",
            ),
        ] {
            let error = Clients::from_settings(&settings(vec![entry]), false).expect_err("refused");
            assert_eq!(error.key, key, "{error}");
        }
    }
}
