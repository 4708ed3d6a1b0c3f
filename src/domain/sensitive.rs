//! Sensitive payload fields: a tokenisation event carries a one-time password
//! (`otpValue`) and card credentials (`dpan`, `paymentToken`). The dashboard
//! shows them masked until a person asks to reveal them; the API answers
//! them as sent (a client's test asserts on them), and the log never carries
//! a payload.

use serde_json::Value;

/// The payload fields masked, wherever they stand in a document.
pub const FIELDS: [&str; 3] = ["otpValue", "dpan", "paymentToken"];

/// What stands for a hidden character.
const HIDDEN: char = '•';

/// A value masked: all of it when it is short (a one-time password), else
/// all but its last four characters, as a card number is shown.
pub fn mask_text(value: &str) -> String {
    let count = value.chars().count();
    let shown = if count > 8 { 4 } else { 0 };
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + shown < count { HIDDEN } else { c })
        .collect()
}

/// `document` with every [`FIELDS`] value masked, at any depth (a string's
/// characters, a number's digits).
pub fn mask(document: &Value) -> Value {
    match document {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(s) if FIELDS.contains(&key.as_str()) => {
                            Value::String(mask_text(s))
                        }
                        Value::Number(n) if FIELDS.contains(&key.as_str()) => {
                            Value::String(mask_text(&n.to_string()))
                        }
                        other => mask(other),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn credentials_keep_their_last_four_and_a_password_nothing() {
        assert_eq!(mask_text("4895371234567890"), "••••••••••••7890");
        assert_eq!(mask_text("123456"), "••••••");
        assert_eq!(mask_text(""), "");
    }

    #[test]
    fn every_sensitive_field_is_masked_at_any_depth_and_nothing_else() {
        let document = json!({
            "context": {"eventCode": 107},
            "payload": {
                "otpValue": "123456",
                "dpan": "4895371234567890",
                "publicToken": "123456789",
                "nested": [{"paymentToken": 5_555_444_433_332_222_u64}],
            }
        });
        let masked = mask(&document);
        assert_eq!(masked["payload"]["otpValue"], "••••••");
        assert_eq!(masked["payload"]["dpan"], "••••••••••••7890");
        assert_eq!(
            masked["payload"]["nested"][0]["paymentToken"],
            "••••••••••••2222"
        );
        assert_eq!(masked["payload"]["publicToken"], "123456789");
        assert_eq!(masked["context"], document["context"]);
    }
}
