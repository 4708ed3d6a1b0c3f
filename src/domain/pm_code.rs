//! The program manager code that owns every webhook.

use std::fmt;

use serde_json::Value;

use super::problem::{ErrorCode, Problem};

pub const FIELD: &str = "programManagerCode";

/// A program manager code: 3 or 4 ASCII letters or digits, kept upper-case so that
/// `trd` and `TRD` name the same program manager.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PmCode(String);

impl PmCode {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let valid = (3..=4).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        if valid {
            Ok(Self(raw.to_ascii_uppercase()))
        } else {
            Err(Problem::at(
                ErrorCode::PmCodeNotValid,
                FIELD,
                "Program manager code must be 3 or 4 letters or digits.",
            ))
        }
    }

    /// Reads the code from a JSON body; `null` counts as absent.
    pub fn from_json(value: &Value) -> Result<Option<Self>, Problem> {
        match value {
            Value::Null => Ok(None),
            Value::String(raw) => Self::parse(raw).map(Some),
            _ => Err(Problem::at(
                ErrorCode::PmCodeNotValid,
                FIELD,
                "Program manager code must be a string.",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PmCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_rules() {
        let cases = [
            ("TRD", Some("TRD")),
            ("trd", Some("TRD")),
            ("AB12", Some("AB12")),
            ("123", Some("123")),
            ("AB", None),
            ("ABCDE", None),
            ("", None),
            ("AB-C", None),
            ("ÄBC", None),
            (" TRD", None),
        ];
        for (raw, expected) in cases {
            let got = PmCode::parse(raw).ok();
            assert_eq!(got.as_ref().map(PmCode::as_str), expected, "case {raw:?}");
        }
    }

    #[test]
    fn from_json_rules() {
        let cases = [
            (json!(null), Ok(None)),
            (json!("TRD"), Ok(Some("TRD"))),
            (json!(123), Err(ErrorCode::PmCodeNotValid)),
            (json!("TOOLONG"), Err(ErrorCode::PmCodeNotValid)),
            (json!(["TRD"]), Err(ErrorCode::PmCodeNotValid)),
        ];
        for (value, expected) in cases {
            let got = PmCode::from_json(&value);
            let got = got
                .as_ref()
                .map(|pm| pm.as_ref().map(PmCode::as_str))
                .map_err(|p| p.code);
            assert_eq!(got, expected, "case {value}");
        }
    }
}
