//! The URL a webhook's notifications and heartbeats are sent to.

use std::fmt;

use serde_json::Value;
use url::Url;

use super::network::BlockedNetworks;

use super::problem::{ErrorCode, Problem};

pub const FIELD: &str = "config.url";
pub const MAX_LEN: usize = 255;

/// An absolute `https://` URL (or `http://` where the configuration allows it) of
/// at most 255 characters, with a host and no credentials or fragment. It is kept
/// in the normalised form of the WHATWG URL standard (a bare host gains its `/`,
/// an international host name becomes punycode), which every HTTP client accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, Problem> {
        let invalid = |why: &str| {
            Problem::at(
                ErrorCode::InvalidRequestBody,
                FIELD,
                format!("Webhook URL {why}."),
            )
        };
        if raw.is_empty() {
            return Err(invalid("is required"));
        }
        if raw.chars().count() > MAX_LEN {
            return Err(invalid(&format!("must be at most {MAX_LEN} characters")));
        }
        let url = Url::parse(raw).map_err(|e| invalid(&format!("is not an absolute URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(invalid(
                    "must use https (plain http is allowed with security.allow_http = true, \
                     or WHM_SECURITY__ALLOW_HTTP=true)",
                ))
            }
            _ => return Err(invalid("must be an https URL")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials; use customHeaders"));
        }
        if url.fragment().is_some() {
            return Err(invalid("must not have a fragment"));
        }
        let normalised = String::from(url);
        if normalised.len() > MAX_LEN {
            return Err(invalid(&format!(
                "must be at most {MAX_LEN} characters once normalised"
            )));
        }
        Ok(Self(normalised))
    }

    pub fn from_json(value: &Value, allow_http: bool) -> Result<Self, Problem> {
        match value {
            Value::String(raw) => Self::parse(raw, allow_http),
            Value::Null => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                FIELD,
                "Webhook URL is required.",
            )),
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                FIELD,
                "Webhook URL must be a string.",
            )),
        }
    }

    /// Rebuilds a URL read back from storage, where it was validated on the way in.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the service accepts as a webhook URL: `[security]` as the API applies it.
#[derive(Debug, Clone, Default)]
pub struct UrlRules {
    pub allow_http: bool,
    pub blocked: BlockedNetworks,
}

impl UrlRules {
    /// A URL from a request body: well-formed, and not naming a blocked address
    /// literally. (A host name is judged when it is resolved, at each call.)
    pub fn from_json(&self, value: &Value) -> Result<WebhookUrl, Problem> {
        let url = WebhookUrl::from_json(value, self.allow_http)?;
        match self.blocked.literal_in(url.as_str()) {
            Some(ip) => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                FIELD,
                format!("Webhook URL names {ip}, an address in a blocked network (security.blocked_networks)."),
            )),
            None => Ok(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let long = format!("https://a.example/{}", "x".repeat(240));
        let cases: [(&str, bool, Option<&str>); 14] = [
            (
                "https://client.example/webhook",
                false,
                Some("https://client.example/webhook"),
            ),
            (
                "https://client.example",
                false,
                Some("https://client.example/"),
            ),
            (
                "https://client.example:8443/a?b=c",
                false,
                Some("https://client.example:8443/a?b=c"),
            ),
            (
                "http://localhost:8080/hook",
                true,
                Some("http://localhost:8080/hook"),
            ),
            ("http://localhost:8080/hook", false, None),
            ("ftp://client.example/", true, None),
            ("client.example/webhook", true, None),
            ("/webhook", true, None),
            ("", true, None),
            ("https://user:pw@client.example/", true, None),
            ("https://client.example/#frag", true, None),
            ("https:///nohost", true, Some("https://nohost/")),
            (&long, true, None),
            ("https://exa mple.com/", true, None),
        ];
        for (raw, allow_http, expected) in cases {
            let got = WebhookUrl::parse(raw, allow_http);
            assert_eq!(
                got.as_ref().ok().map(WebhookUrl::as_str),
                expected,
                "case {raw:?} allow_http={allow_http}"
            );
            if let Err(problem) = got {
                assert_eq!(problem.code, ErrorCode::InvalidRequestBody, "case {raw:?}");
                assert_eq!(problem.field.as_deref(), Some(FIELD), "case {raw:?}");
            }
        }
        let refused = WebhookUrl::parse("http://localhost:8080/hook", false).expect_err("http");
        assert!(
            refused.message.contains("security.allow_http")
                && refused.message.contains("WHM_SECURITY__ALLOW_HTTP"),
            "the refusal names the setting that allows http: {}",
            refused.message
        );
    }
}
