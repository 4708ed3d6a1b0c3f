//! The capture inbox, which Thredd does not have: a named inbox keeps the
//! requests sent to `/sandbox/v1/inbox/{name}`, so a webhook can point at the
//! service itself. Kept in the store (it survives a restart), within limits:
//! [`INBOX_CAPACITY`] requests per inbox (the oldest go first),
//! [`MAX_INBOXES`] inboxes, and [`MAX_KEPT_BODY`] bytes of each body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ErrorCode, Problem};

/// The most requests an inbox keeps; a new one pushes out the oldest.
pub const INBOX_CAPACITY: usize = 1000;
/// The most inboxes; a request to a new one beyond this is refused.
pub const MAX_INBOXES: usize = 1000;
/// The longest inbox name.
pub const MAX_NAME_LEN: usize = 64;
/// The most bytes of a request's body an inbox keeps; a longer body is kept
/// as its first bytes, as text, marked cut. (A delivery's envelope is a few
/// KiB; this bounds the inbox's worst case to 1000 x 1000 x 64 KiB.)
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// One request as it arrived at an inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Captured {
    pub method: String,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON when it parses, else as text (lossy UTF-8), else null.
    pub body: Value,
    pub received_time: String,
    /// What the inbox's script answered it (absent without a script).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<Answered>,
}

/// What a scripted inbox answered one request: a status or a fault's name
/// (`close`, `hang`), and the step that did (absent for `then` and random).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
}

impl Captured {
    /// A request as it arrived: its body parsed as JSON when it is JSON, else
    /// kept as text; cut at [`MAX_KEPT_BODY`].
    pub fn new(
        method: String,
        headers: BTreeMap<String, String>,
        body: &[u8],
        received_time: String,
    ) -> Self {
        let body = if body.is_empty() {
            Value::Null
        } else if body.len() > MAX_KEPT_BODY {
            let kept = String::from_utf8_lossy(&body[..MAX_KEPT_BODY]);
            Value::String(format!(
                "{kept}\n[cut: {} of {} bytes kept]",
                MAX_KEPT_BODY,
                body.len()
            ))
        } else {
            serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        };
        Self {
            method,
            headers,
            body,
            received_time,
            answered: None,
        }
    }
}

/// An inbox's name, as the path gives it: 1 to [`MAX_NAME_LEN`] letters,
/// digits, `-`, `_` or `.` (case kept).
pub fn inbox_name(raw: &str) -> Result<String, Problem> {
    let valid = (1..=MAX_NAME_LEN).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(Problem::at(
            ErrorCode::InvalidRequestBody,
            "name",
            format!("An inbox name is 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'."),
        ))
    }
}

/// Where a captured request goes, given how many requests its inbox holds
/// (`None`: a new inbox) and how many inboxes there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Kept; the inbox's oldest requests beyond its capacity go.
    Kept { drop_oldest: usize },
    /// Refused: a new inbox, and there are already as many as allowed.
    TooManyInboxes,
}

/// The inbox's limits, as a rule the store applies inside its write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    pub capacity: usize,
    pub max_inboxes: usize,
}

impl Default for InboxLimits {
    fn default() -> Self {
        Self {
            capacity: INBOX_CAPACITY,
            max_inboxes: MAX_INBOXES,
        }
    }
}

impl InboxLimits {
    pub fn keep(self, held: Option<usize>, inboxes: usize) -> Keep {
        match held {
            None if inboxes >= self.max_inboxes => Keep::TooManyInboxes,
            held => Keep::Kept {
                drop_oldest: (held.unwrap_or(0) + 1).saturating_sub(self.capacity),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_keeps_its_newest_and_a_new_one_needs_room() {
        let limits = InboxLimits {
            capacity: 3,
            max_inboxes: 2,
        };
        for (held, inboxes, keep) in [
            (None, 0, Keep::Kept { drop_oldest: 0 }),
            (None, 1, Keep::Kept { drop_oldest: 0 }),
            (None, 2, Keep::TooManyInboxes),
            (Some(2), 2, Keep::Kept { drop_oldest: 0 }),
            (Some(3), 2, Keep::Kept { drop_oldest: 1 }),
            (Some(5), 2, Keep::Kept { drop_oldest: 3 }),
        ] {
            assert_eq!(
                limits.keep(held, inboxes),
                keep,
                "{held:?} held, {inboxes} inboxes"
            );
        }
    }

    #[test]
    fn a_body_is_json_or_text_and_cut_when_long() {
        let kept =
            |body: &[u8]| Captured::new("POST".into(), BTreeMap::new(), body, "t".into()).body;
        assert_eq!(kept(br#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(kept(b"plain"), Value::String("plain".into()));
        assert_eq!(kept(b""), Value::Null);
        let long = vec![b'x'; MAX_KEPT_BODY + 10];
        let Value::String(cut) = kept(&long) else {
            panic!("a long body is kept as text");
        };
        assert!(cut.len() < MAX_KEPT_BODY + 100);
        assert!(cut.ends_with(&format!(
            "[cut: {MAX_KEPT_BODY} of {} bytes kept]",
            MAX_KEPT_BODY + 10
        )));
    }

    #[test]
    fn names_are_short_and_plain() {
        assert_eq!(inbox_name("Demo-1_a.b"), Ok("Demo-1_a.b".into()));
        for bad in ["", "a b", "a/b", "é", &"x".repeat(MAX_NAME_LEN + 1)] {
            assert!(inbox_name(bad).is_err(), "{bad:?}");
        }
    }
}
