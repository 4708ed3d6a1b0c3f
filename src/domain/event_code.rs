//! Event codes (API.md section 7) and a webhook's set of subscribed codes.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::problem::{quote, whole_number, ErrorCode, Problem};

/// Every event code the service knows, with Thredd's name for it.
pub const CATALOGUE: &[(u16, &str)] = &[
    (101, "Fraud Rule Triggered by a Transaction"),
    (102, "Fraud Acknowledgement Notification"),
    (103, "Card Status Change"),
    (104, "Custom PAN Creation"),
    (105, "Payment Manual Review Outcome"),
    (106, "Tokenisation Authorisation Request (TAR)"),
    (107, "Activation Code Notification (ACN)"),
    (108, "Tokenisation Complete Notification (TCN)"),
    (109, "Tokenisation Event Notification (TEN)"),
    (110, "Tokenisation Status Update Failure Notification (TFN)"),
    (111, "Apata Finalised Event"),
    (112, "Transaction Confirmation Event"),
    (115, "FTM Alert Creation"),
    (117, "Open Banking Registration"),
];

/// An event code that is in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventCode(u16);

impl EventCode {
    /// 101, Fraud Rule Triggered: raises a fraud alert (`domain::fraud`).
    pub const FRAUD_RULE_TRIGGERED: Self = Self(101);
    /// 102, Fraud Acknowledgement: follows a fraud alert's answer or expiry.
    pub const FRAUD_ACKNOWLEDGEMENT: Self = Self(102);
    /// 103, Card Status Change.
    pub const CARD_STATUS_CHANGE: Self = Self(103);
    /// 106, Tokenisation Authorisation Request.
    pub const TOKENISATION_REQUEST: Self = Self(106);
    /// 107, Activation Code Notification.
    pub const ACTIVATION_CODE: Self = Self(107);
    /// 108, Tokenisation Complete.
    pub const TOKENISATION_COMPLETE: Self = Self(108);

    /// Accepts a 3-digit integer that names a catalogued event. `field` is where the
    /// code stood in the request, for the problem report.
    pub fn from_number(n: i64, field: &str) -> Result<Self, Problem> {
        if !(100..=999).contains(&n) {
            return Err(Problem::at(
                ErrorCode::InvalidEventCode,
                field,
                format!("Event code {n} is not a 3-digit integer."),
            ));
        }
        let n = n as u16;
        if CATALOGUE.iter().any(|(code, _)| *code == n) {
            Ok(Self(n))
        } else {
            Err(Problem::at(
                ErrorCode::EventCodeNotFound,
                field,
                format!("Event code {n} does not exist."),
            ))
        }
    }

    pub fn from_json(value: &Value, field: &str) -> Result<Self, Problem> {
        // `103.0` is the same JSON number (and a JSON Schema integer).
        let whole = || whole_number(value).and_then(|n| i64::try_from(n).ok());
        match value.as_i64().or_else(whole) {
            Some(n) => Self::from_number(n, field),
            None => Err(Problem::at(
                ErrorCode::InvalidEventCode,
                field,
                format!(
                    "Event code {} is not a 3-digit integer.",
                    quote(&value.to_string())
                ),
            )),
        }
    }

    /// Parses a code written in a path segment.
    pub fn from_path(raw: &str) -> Result<Self, Problem> {
        match raw.parse::<i64>() {
            Ok(n) if raw.len() == 3 => Self::from_number(n, "eventCode"),
            _ => Err(Problem::at(
                ErrorCode::InvalidEventCode,
                "eventCode",
                "Event code must be a 3-digit integer.",
            )),
        }
    }

    pub fn value(self) -> u16 {
        self.0
    }

    pub fn description(self) -> &'static str {
        CATALOGUE
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or("", |(_, name)| name)
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The codes a webhook subscribes to: no duplicates, kept in ascending order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSet(BTreeSet<EventCode>);

impl EventSet {
    /// Reads an array of codes. Every bad element is reported, each with its own
    /// problem; `duplicate` is the code a repeated element gets.
    pub fn from_json(
        value: &Value,
        field: &str,
        duplicate: ErrorCode,
    ) -> Result<Self, Vec<Problem>> {
        let Value::Array(items) = value else {
            return Err(vec![Problem::at(
                ErrorCode::InvalidRequestBody,
                field,
                format!("{field} must be an array of event codes."),
            )]);
        };
        let mut set = BTreeSet::new();
        let mut problems = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match EventCode::from_json(item, &at) {
                Ok(code) if !set.insert(code) => problems.push(Problem::at(
                    duplicate,
                    at,
                    format!("Event code {code} appears more than once."),
                )),
                Ok(_) => {}
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(Self(set))
        } else {
            Err(problems)
        }
    }

    pub fn contains(&self, code: EventCode) -> bool {
        self.0.contains(&code)
    }

    pub fn insert(&mut self, code: EventCode) -> bool {
        self.0.insert(code)
    }

    pub fn remove(&mut self, code: EventCode) -> bool {
        self.0.remove(&code)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = EventCode> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<EventCode> for EventSet {
    fn from_iter<I: IntoIterator<Item = EventCode>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_code_rules() {
        let cases = [
            (json!(101), Ok(101)),
            (json!(117), Ok(117)),
            (json!(113), Err(ErrorCode::EventCodeNotFound)),
            (json!(999), Err(ErrorCode::EventCodeNotFound)),
            (json!(99), Err(ErrorCode::InvalidEventCode)),
            (json!(1010), Err(ErrorCode::InvalidEventCode)),
            (json!(-101), Err(ErrorCode::InvalidEventCode)),
            (json!("101"), Err(ErrorCode::InvalidEventCode)),
            (json!(101.5), Err(ErrorCode::InvalidEventCode)),
            (json!(103.0), Ok(103)),
            (json!(null), Err(ErrorCode::InvalidEventCode)),
        ];
        for (value, expected) in cases {
            let got = EventCode::from_json(&value, "events[0]")
                .map(EventCode::value)
                .map_err(|p| p.code);
            assert_eq!(got, expected, "case {value}");
        }
    }

    #[test]
    fn path_rules() {
        let cases = [
            ("103", Ok(103)),
            ("113", Err(ErrorCode::EventCodeNotFound)),
            ("abc", Err(ErrorCode::InvalidEventCode)),
            ("0101", Err(ErrorCode::InvalidEventCode)),
            ("+10", Err(ErrorCode::InvalidEventCode)),
            ("", Err(ErrorCode::InvalidEventCode)),
        ];
        for (raw, expected) in cases {
            let got = EventCode::from_path(raw)
                .map(EventCode::value)
                .map_err(|p| p.code);
            assert_eq!(got, expected, "case {raw:?}");
        }
    }

    #[test]
    fn event_set_rules() {
        let dup = ErrorCode::DuplicateEventInEventArray;
        let cases = [
            (json!([]), Ok(vec![])),
            (json!([103, 101]), Ok(vec![101, 103])),
            (json!([101, 101]), Err(vec![dup])),
            (
                json!([101, "x", 113]),
                Err(vec![
                    ErrorCode::InvalidEventCode,
                    ErrorCode::EventCodeNotFound,
                ]),
            ),
            (json!({"a": 1}), Err(vec![ErrorCode::InvalidRequestBody])),
            (json!(101), Err(vec![ErrorCode::InvalidRequestBody])),
        ];
        for (value, expected) in cases {
            let got = EventSet::from_json(&value, "events", dup)
                .map(|set| set.iter().map(EventCode::value).collect::<Vec<_>>())
                .map_err(|ps| ps.into_iter().map(|p| p.code).collect::<Vec<_>>());
            assert_eq!(got, expected, "case {value}");
        }
    }

    #[test]
    fn every_catalogued_code_has_a_description() {
        for (code, _) in CATALOGUE {
            let parsed = EventCode::from_number(i64::from(*code), "e").expect("catalogued");
            assert!(!parsed.description().is_empty(), "code {code}");
        }
    }
}
