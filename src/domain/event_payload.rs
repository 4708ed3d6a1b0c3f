//! What a notification carries: Thredd's envelope (API.md section 8) and, when a
//! trigger gives no payload, a realistic sample with the fields Thredd documents
//! for the event code (../shared/EVENTS.md), fresh ids and the current time.

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event_code::EventCode;
use super::notification::NotificationId;
use super::pm_code::PmCode;
use super::problem::{quote, ErrorCode, Problem};
use super::time::rfc3339_seconds;
use super::webhook::ProductId;

/// The body sent on every attempt of one notification.
pub fn envelope(
    id: NotificationId,
    code: EventCode,
    payload: &Value,
    at: OffsetDateTime,
) -> String {
    json!({
        "context": {
            "notificationId": id.to_string(),
            "eventCode": code.value(),
            "eventVersion": "v1",
            "notificationTime": rfc3339_seconds(at),
        },
        "payload": payload,
    })
    .to_string()
}

/// Which envelope a notification is sent in. Thredd's tokenisation pages
/// (106-110) and the 105 page document a second form beside the standard one
/// (API.md section 10); a trigger may ask for it on those codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EnvelopeForm {
    #[default]
    Standard,
    Documented,
}

impl EnvelopeForm {
    pub const FIELD: &'static str = "envelope";

    /// `"standard"` (the default) or `"documented"`, which only 105-110 have.
    pub fn from_json(value: &Value, code: Option<EventCode>) -> Result<Self, Problem> {
        match value {
            Value::Null => Ok(Self::Standard),
            Value::String(s) if s == "standard" => Ok(Self::Standard),
            Value::String(s) if s == "documented" => match code.map(EventCode::value) {
                Some(105..=110) | None => Ok(Self::Documented),
                Some(other) => Err(Problem::at(
                    ErrorCode::InvalidRequestBody,
                    Self::FIELD,
                    format!(
                        "Event {other} has only the standard envelope; the documented one is for 105-110."
                    ),
                )),
            },
            _ => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                Self::FIELD,
                "envelope must be \"standard\" or \"documented\".",
            )),
        }
    }
}

/// The documented envelope of 105-110 (API.md section 10): `messageHeaders`
/// and a `context` naming the program manager by number, the notification
/// type, the creator, the product as a string, a correlation id and the time
/// in Thredd's `2024-10-29 15:16:30.000` form; no `notificationId` (a 105
/// receiver de-duplicates on `payload.eventid`). Where the pages show `...`
/// the values are the service's: `programManagerId` is the program manager
/// code read as a base-36 number, `correlationId` the payload's
/// `provisioningTraceId` (else its `eventid`, else a new id), `schemaId`
/// names the notification type.
pub fn documented_envelope(
    code: EventCode,
    pm: &PmCode,
    product: Option<ProductId>,
    payload: &Value,
    at: OffsetDateTime,
) -> String {
    let kind = match code.value() {
        106 => Some("TAR"),
        107 => Some("ACN"),
        108 => Some("TCN"),
        109 => Some("TEN"),
        110 => Some("TFN"),
        _ => None,
    };
    let correlation = ["provisioningTraceId", "eventid"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .map_or_else(uuid, str::to_owned);
    let mut context = json!({
        "programManagerId": u64::from_str_radix(pm.as_str(), 36).unwrap_or(0),
        "eventCode": code.value(),
    });
    if let Some(kind) = kind {
        context["notificationType"] = json!(kind);
        context["creator"] = json!("MC-MDES");
    }
    context["productId"] = json!(product.map_or(10030, ProductId::value).to_string());
    context["correlationId"] = json!(correlation);
    context["eventVersion"] = json!("1.0");
    context["notificationTime"] = json!(thredd_time(at));
    let schema = kind.map_or_else(
        || "thredd.transaction-review.v1".to_owned(),
        |k| format!("thredd.tokenisation.{k}.v1"),
    );
    json!({
        "messageHeaders": {"schemaId": schema},
        "context": context,
        "payload": payload,
    })
    .to_string()
}

/// `2024-10-29 15:16:30.000`, the documented envelope's time.
fn thredd_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// The most fields one trigger's `overrides` sets.
pub const MAX_OVERRIDES: usize = 64;

/// Sets fields of a payload by dotted path (`deviceInfo.deviceType`),
/// creating the objects on the way; every problem at once, each at
/// `overrides.<path>`, and nothing set unless all can be.
pub fn apply_overrides(payload: &mut Value, overrides: &Value) -> Result<(), Vec<Problem>> {
    let bad = |path: &str, message: String| {
        Problem::at(
            ErrorCode::InvalidRequestBody,
            format!("overrides.{path}"),
            message,
        )
    };
    let Some(overrides) = overrides.as_object() else {
        return Err(vec![Problem::at(
            ErrorCode::InvalidRequestBody,
            "overrides",
            "overrides must be an object of payload fields by dotted path, such as {\"deviceInfo.deviceType\": \"WATCH\"}.",
        )]);
    };
    if overrides.len() > MAX_OVERRIDES {
        return Err(vec![Problem::at(
            ErrorCode::InvalidRequestBody,
            "overrides",
            format!("overrides sets at most {MAX_OVERRIDES} fields."),
        )]);
    }
    let mut result = payload.clone();
    let mut problems = Vec::new();
    'each: for (path, value) in overrides {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            problems.push(bad(path, format!("{} is not a dotted path.", quote(path))));
            continue;
        }
        let mut at = &mut result;
        for (i, segment) in segments.iter().enumerate() {
            let Some(object) = at.as_object_mut() else {
                let prefix = segments[..i].join(".");
                problems.push(bad(
                    path,
                    format!("{prefix} is not an object in the payload, so {path} cannot be set."),
                ));
                continue 'each;
            };
            if i + 1 == segments.len() {
                object.insert((*segment).to_owned(), value.clone());
                continue 'each;
            }
            at = object
                .entry((*segment).to_owned())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
    }
    if problems.is_empty() {
        *payload = result;
        Ok(())
    } else {
        Err(problems)
    }
}

fn digits(n: usize) -> String {
    (0..n)
        .map(|i| {
            char::from(
                b'0' + if i == 0 {
                    fastrand::u8(1..=9)
                } else {
                    fastrand::u8(0..=9)
                },
            )
        })
        .collect()
}

fn uuid() -> String {
    Uuid::new_v4().to_string()
}

/// A sample payload for `code`, for program manager `pm` and (when the event is
/// product-level) `product`.
pub fn sample(
    code: EventCode,
    pm: &PmCode,
    product: Option<ProductId>,
    at: OffsetDateTime,
) -> Value {
    let now = rfc3339_seconds(at);
    let product_number = product.map_or(10030, ProductId::value);
    let product_text = product_number.to_string();
    let token_fields = || {
        json!({
            "publicToken": digits(9),
            "productId": product_text,
            "paymentToken": digits(16),
            "dpan": format!("489537{}", digits(10)),
            "networkTokenReference": format!("DNITHE{}", digits(18)),
            "provisioningTraceId": uuid(),
            "tokenisationServiceDateTime": now,
            "processorDateTime": now,
            "responseCode": "00",
            "requestSource": "MOBILE_BANKING_APP",
            "tokenRequestorId": digits(11),
            "orangeFlowIndicator": false,
            "provisioningFlow": "Yellow",
            "tokenisationReasonCodes": ["01"],
        })
    };
    let with = |mut base: Value, extra: Value| {
        if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
            base.extend(extra);
        }
        base
    };
    match code.value() {
        101 => json!({
            "fraudAlertId": uuid(),
            "productId": product_number,
            "transactionId": digits(10),
            "tokenId": digits(9),
            "transactionAmount": "50.75",
            "currency": "USD",
            "merchantName": "Sandbox Coffee Ltd",
            "location": "London, GB",
            "dateTime": now,
            "mcc": "5814",
            "notificationMessageContent": "Transaction flagged by fraud rule: unusual amount for merchant category.",
        }),
        102 => json!({
            "fraudAlertId": uuid(),
            "fraudAlertType": "Acknowledgement",
            "notificationMessageContent": "The cardholder confirmed the transaction.",
            "productId": product_number,
        }),
        103 => json!({
            "tokenId": digits(9),
            "productId": product_number,
            "dateTime": now,
            "newCardStatus": "41",
            "oldCardStatus": "00",
            "message": "Card reported lost",
            "trackingId": uuid(),
        }),
        104 => json!({
            "productId": product_number,
            "messageId": uuid(),
            "publicToken": digits(9),
        }),
        105 => json!({
            "transactionId": digits(12),
            "eventid": uuid(),
            "reviewStatus": "no-risk",
            "reviewDate": now,
        }),
        106 | 108 => token_fields(),
        107 => with(
            token_fields(),
            json!({
                "otpValue": digits(6),
                "otpReason": "TOKEN_DEVICE_BINDING",
                "otpExpirationDate": rfc3339_seconds(at + time::Duration::minutes(10)),
                "activationMethod": "SMS",
                "deviceInfo": {"deviceId": uuid(), "deviceType": "MOBILE_PHONE"},
            }),
        ),
        109 => with(
            token_fields(),
            json!({
                "eventReason": "TOKEN_STATUS_UPDATED",
                "messageReasonCode": "3701",
                "eventRequestor": "TOKEN_REQUESTOR",
                "processorTokenStatus": "ACTIVE",
                "tokenisationServiceTokenStatus": "ACTIVE",
            }),
        ),
        110 => with(
            token_fields(),
            json!({
                "requestedTokenStatus": "SUSPENDED",
                "currentTokenStatus": "ACTIVE",
                "failureReason": "Token status update was rejected by the token service",
            }),
        ),
        111 => json!({
            "version": "V2.0",
            "eventType": "FINALISED_EVENT",
            "transaction": {
                "threeDSServerTransID": uuid(),
                "acsTransID": uuid(),
                "transStatus": "Y",
                "authenticationType": "02",
                "purchaseAmount": "5075",
                "purchaseCurrency": "840",
                "merchantName": "Sandbox Coffee Ltd",
                "publicToken": digits(9),
                "finalisedTime": now,
            },
        }),
        112 => json!({
            "network": "VISA",
            "subnetwork": "VISANET",
            "programManagerCode": pm.as_str(),
            "productId": product_text,
            "transactionId": digits(10),
            "transactionStatusCode": "A",
            "mtid": "0100",
            "mcc": "5814",
            "transactionAmount": "50.75",
            "transactionCurrency": "840",
            "billingAmount": "50.75",
            "billingCurrency": "840",
            "availableBalance": "949.25",
            "ledgerBalance": "1000.00",
            "publicToken": digits(9),
            "transactionDateTime": now,
        }),
        115 => json!({
            "AlertTime": now,
            "EventTime": now,
            "AlertId": uuid(),
            "EventId": uuid(),
            "EventType": "cardRT",
            "SystemEventId": digits(10),
            "ThreddTransactionId": digits(10),
            "CustomerId": digits(8),
            "CardId": digits(9),
            "ProductId": product_text,
            "ProgramManagerCode": [pm.as_str()],
            "TenantId": [pm.as_str()],
            "ActionTags": [{"Tag": "Review", "Values": ["High"]}],
            "TriggeredRules": [],
            "TriggeringEntities": [],
        }),
        117 => json!({
            "eventType": "added",
            "registrationId": uuid(),
            "customerId": digits(8),
            "institutionId": "sandbox-bank",
            "dateTime": now,
        }),
        // The catalogue and this table are kept together; a code added to one
        // without the other still gets a payload that says what it is.
        other => json!({"eventCode": other, "dateTime": now}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event_code::CATALOGUE;

    #[test]
    fn every_catalogued_code_has_its_documented_fields() {
        let pm = PmCode::parse("TRD").expect("pm");
        let expected: &[(u16, &[&str])] = &[
            (
                101,
                &["fraudAlertId", "transactionAmount", "currency", "mcc"],
            ),
            (102, &["fraudAlertId", "fraudAlertType"]),
            (
                103,
                &["tokenId", "newCardStatus", "oldCardStatus", "trackingId"],
            ),
            (104, &["messageId", "publicToken"]),
            (
                105,
                &["transactionId", "eventid", "reviewStatus", "reviewDate"],
            ),
            (
                106,
                &["publicToken", "dpan", "responseCode", "requestSource"],
            ),
            (107, &["otpValue", "otpReason", "deviceInfo", "dpan"]),
            (108, &["paymentToken", "tokenRequestorId"]),
            (109, &["eventReason", "processorTokenStatus"]),
            (110, &["dpan", "failureReason"]),
            (111, &["version", "eventType", "transaction"]),
            (112, &["network", "programManagerCode", "mtid"]),
            (
                115,
                &["AlertId", "EventType", "ProgramManagerCode", "ActionTags"],
            ),
            (117, &["eventType"]),
        ];
        assert_eq!(expected.len(), CATALOGUE.len());
        for (code, fields) in expected {
            let code = EventCode::from_number(i64::from(*code), "eventCode").expect("code");
            let payload = sample(
                code,
                &pm,
                ProductId::from_json(&json!(7)).expect("id"),
                OffsetDateTime::now_utc(),
            );
            for field in *fields {
                assert!(payload.get(field).is_some(), "{code}: {field} in {payload}");
            }
        }
    }

    #[test]
    fn the_envelope_has_thredds_context() {
        let code = EventCode::from_number(103, "eventCode").expect("code");
        let id = NotificationId::generate();
        let at = OffsetDateTime::from_unix_timestamp(1_706_138_428).expect("time");
        let body: Value =
            serde_json::from_str(&envelope(id, code, &json!({"a": 1}), at)).expect("json");
        assert_eq!(body["context"]["notificationId"], id.to_string());
        assert_eq!(body["context"]["eventCode"], 103);
        assert_eq!(body["context"]["eventVersion"], "v1");
        assert_eq!(body["context"]["notificationTime"], "2024-01-24T23:20:28Z");
        assert_eq!(body["payload"], json!({"a": 1}));
    }

    #[test]
    fn overrides_set_fields_by_dotted_path_or_nothing() {
        let mut payload =
            json!({"newCardStatus": "00", "deviceInfo": {"deviceId": "d"}, "tokenId": "1"});
        apply_overrides(
            &mut payload,
            &json!({"newCardStatus": "41", "deviceInfo.deviceType": "WATCH", "extra.deep.field": 7}),
        )
        .expect("applied");
        assert_eq!(
            payload,
            json!({"newCardStatus": "41", "tokenId": "1",
                   "deviceInfo": {"deviceId": "d", "deviceType": "WATCH"},
                   "extra": {"deep": {"field": 7}}})
        );
        let before = payload.clone();
        let problems = apply_overrides(
            &mut payload,
            &json!({"tokenId.x": 1, "a..b": 2, "newCardStatus": "99"}),
        )
        .expect_err("refused");
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field.clone()).collect();
        assert_eq!(fields, ["overrides.a..b", "overrides.tokenId.x"]);
        assert_eq!(payload, before, "nothing set");
        assert!(apply_overrides(&mut payload, &json!([1])).is_err());
    }

    #[test]
    fn the_documented_envelope_has_every_context_field_and_no_notification_id() {
        let pm = PmCode::parse("TRD").expect("pm");
        let at = OffsetDateTime::from_unix_timestamp(1_730_215_990).expect("time");
        for (code, kind) in [
            (106, "TAR"),
            (107, "ACN"),
            (108, "TCN"),
            (109, "TEN"),
            (110, "TFN"),
        ] {
            let code = EventCode::from_number(code, "eventCode").expect("code");
            let payload = sample(
                code,
                &pm,
                ProductId::from_json(&json!(12345)).expect("id"),
                at,
            );
            let body: Value = serde_json::from_str(&documented_envelope(
                code,
                &pm,
                ProductId::from_json(&json!(12345)).expect("id"),
                &payload,
                at,
            ))
            .expect("json");
            let context = &body["context"];
            for field in [
                "programManagerId",
                "eventCode",
                "notificationType",
                "creator",
                "productId",
                "correlationId",
                "eventVersion",
                "notificationTime",
            ] {
                assert!(context.get(field).is_some(), "{code}: {field}: {body}");
            }
            assert!(context.get("notificationId").is_none());
            assert_eq!(context["notificationType"], kind);
            assert_eq!(
                context["programManagerId"], 38569,
                "TRD in base 36, as the README says"
            );
            assert_eq!(context["productId"], "12345");
            assert_eq!(context["notificationTime"], "2024-10-29 15:33:10.000");
            assert_eq!(context["correlationId"], payload["provisioningTraceId"]);
            assert!(body["messageHeaders"]["schemaId"].is_string());
            assert_eq!(body["payload"], payload);
        }
        let code = |n| EventCode::from_number(n, "eventCode").ok();
        assert_eq!(
            EnvelopeForm::from_json(&json!("documented"), code(105)),
            Ok(EnvelopeForm::Documented)
        );
        assert!(EnvelopeForm::from_json(&json!("documented"), code(103)).is_err());
        assert!(EnvelopeForm::from_json(&json!("fancy"), code(106)).is_err());
        assert_eq!(
            EnvelopeForm::from_json(&Value::Null, code(106)),
            Ok(EnvelopeForm::Standard)
        );
    }
}
