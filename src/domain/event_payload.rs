//! What a notification carries: Thredd's envelope (API.md section 8) and, when a
//! trigger gives no payload, a realistic sample with the fields Thredd documents
//! for the event code (../shared/EVENTS.md), fresh ids and the current time.

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event_code::EventCode;
use super::notification::NotificationId;
use super::pm_code::PmCode;
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
}
