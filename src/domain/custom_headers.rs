//! The extra HTTP headers a program manager asks to receive with every call.

use std::collections::BTreeMap;

use serde_json::Value;

use super::problem::{quote, ErrorCode, Problem};

pub const FIELD: &str = "config.customHeaders";
pub const MAX_PAIRS: usize = 3;
pub const MAX_TOTAL_CHARS: usize = 500;

/// Headers the service sets itself on outbound calls; a webhook may not override them.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
];

/// At most three name/value pairs, names and values together at most 500
/// characters; each name a valid HTTP token that the service does not set itself
/// and that no other pair repeats (header names are case-insensitive); each value
/// free of control characters other than tab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomHeaders(BTreeMap<String, String>);

impl CustomHeaders {
    pub fn from_json(value: &Value) -> Result<Self, Vec<Problem>> {
        let map = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(map) => map,
            _ => {
                return Err(vec![Problem::at(
                    ErrorCode::InvalidRequestBody,
                    FIELD,
                    "customHeaders must be an object of string values.",
                )])
            }
        };
        let mut problems = Vec::new();
        if map.len() > MAX_PAIRS {
            problems.push(Problem::at(
                ErrorCode::ExceedsMaximumCustomHeaderLimit,
                FIELD,
                format!(
                    "At most {MAX_PAIRS} custom headers are allowed; got {}.",
                    map.len()
                ),
            ));
        }
        let mut headers = BTreeMap::new();
        let mut total = 0;
        for (name, value) in map {
            // A name as shown back: a 100 KB name is not echoed whole.
            let shown = match name.char_indices().nth(64) {
                Some((cut, _)) => format!("{}...", &name[..cut]),
                None => name.clone(),
            };
            let at = format!("{FIELD}.{shown}");
            total += name.chars().count();
            if !is_token(name) {
                problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    at.clone(),
                    format!("{} is not a valid HTTP header name.", quote(name)),
                ));
            } else if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    at.clone(),
                    format!("{shown} is set by the service and cannot be a custom header."),
                ));
            } else if headers
                .keys()
                .any(|seen: &String| seen.eq_ignore_ascii_case(name))
            {
                problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    at.clone(),
                    format!("{shown} is given more than once (header names ignore case)."),
                ));
            }
            match value {
                Value::String(v) => {
                    total += v.chars().count();
                    if v.chars().any(|c| c.is_control() && c != '\t') {
                        problems.push(Problem::at(
                            ErrorCode::InvalidRequestBody,
                            at,
                            format!("The value of {shown} must not contain CR, LF, NUL or other control characters."),
                        ));
                    }
                    headers.insert(name.clone(), v.clone());
                }
                _ => problems.push(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    at,
                    format!("The value of {shown} must be a string."),
                )),
            }
        }
        if total > MAX_TOTAL_CHARS {
            problems.push(Problem::at(
                ErrorCode::ExceedsMaximumCustomHeaderLimit,
                FIELD,
                format!("Custom header names and values must total at most {MAX_TOTAL_CHARS} characters; got {total}."),
            ));
        }
        if problems.is_empty() {
            Ok(Self(headers))
        } else {
            Err(problems)
        }
    }

    /// Rebuilds headers read back from storage, where they were validated on the way in.
    pub fn from_stored(headers: BTreeMap<String, String>) -> Self {
        Self(headers)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// An RFC 9110 token: what an HTTP header name may be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_header_rules() {
        use ErrorCode::*;
        let long = "v".repeat(498);
        let cases = [
            (json!(null), vec![]),
            (json!({}), vec![]),
            (json!({"ApiKey": "secret-1"}), vec![]),
            (json!({"A": "1", "B": "2", "C": "3"}), vec![]),
            (
                json!({"A": "1", "B": "2", "C": "3", "D": "4"}),
                vec![ExceedsMaximumCustomHeaderLimit],
            ),
            (json!({"Key": long}), vec![ExceedsMaximumCustomHeaderLimit]),
            (json!({"Bad Name": "x"}), vec![InvalidRequestBody]),
            (json!({"": "x"}), vec![InvalidRequestBody]),
            (json!({"Host": "x"}), vec![InvalidRequestBody]),
            (json!({"content-type": "x"}), vec![InvalidRequestBody]),
            (json!({"Transfer-Encoding": "x"}), vec![InvalidRequestBody]),
            (json!({"X-A": "a\r\nb"}), vec![InvalidRequestBody]),
            (json!({"X-A": "a\u{0}b"}), vec![InvalidRequestBody]),
            (json!({"X-A": "tab\tok"}), vec![]),
            (json!({"X-A": 5}), vec![InvalidRequestBody]),
            (json!({"X-A": "1", "x-a": "2"}), vec![InvalidRequestBody]),
            (json!(["X-A"]), vec![InvalidRequestBody]),
            (
                json!({"Host": "x", "X-B": 1}),
                vec![InvalidRequestBody, InvalidRequestBody],
            ),
        ];
        for (value, expected) in cases {
            let got = CustomHeaders::from_json(&value)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.code)
                .collect::<Vec<_>>();
            assert_eq!(got, expected, "case {value}");
        }
    }

    #[test]
    fn total_length_counts_names_and_values() {
        let at_limit = json!({"Name": "v".repeat(MAX_TOTAL_CHARS - 4)});
        assert!(
            CustomHeaders::from_json(&at_limit).is_ok(),
            "exactly 500 characters is allowed"
        );
        let over = json!({"Name": "v".repeat(MAX_TOTAL_CHARS - 3)});
        assert!(
            CustomHeaders::from_json(&over).is_err(),
            "501 characters is refused"
        );
    }
}
