//! Transaction Confirmation configurations (API.md section 10): what a
//! program manager sets up before Thredd sends it 112s. A configuration
//! names Thredd's numeric program manager id, optionally a product, whether
//! it is `Active`, and which message types it admits: 1 (Authorisation,
//! 0100), 2 (Authorisation Advice, 0120), 3 (Online Financial Request, 0200).
//! A 112 reaches the program manager's webhooks only where an active
//! configuration for its product (or for every product) admits the
//! transaction's message type.

use std::fmt;

use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use super::pm_code::PmCode;
use super::problem::{quote, whole_number, ErrorCode, Problem, Problems};
use super::webhook::{ProductId, Refusal};

/// `5789653-20250602063331`: seven digits and the creation time, as Thredd's
/// example shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigId(String);

impl ConfigId {
    pub fn generate(at: OffsetDateTime) -> Self {
        let stamp = at
            .to_offset(time::UtcOffset::UTC)
            .format(format_description!(
                "[year][month][day][hour][minute][second]"
            ))
            .unwrap_or_default();
        Self(format!("{}-{stamp}", fastrand::u32(1_000_000..10_000_000)))
    }

    /// An id as a path gives it: seven digits, `-`, fourteen digits; else
    /// `None` (no such configuration).
    pub fn parse(raw: &str) -> Option<Self> {
        let (left, right) = raw.split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        (digits(left, 7) && digits(right, 14)).then(|| Self(raw.to_owned()))
    }

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Active` or `Inactive`, capitalised (unlike a webhook's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigStatus {
    Active,
    Inactive,
}

impl ConfigStatus {
    pub const FIELD: &'static str = "status";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "Active" => Some(Self::Active),
            "Inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    pub fn from_json(value: &Value) -> Result<Self, Problem> {
        value.as_str().and_then(Self::from_stored).ok_or_else(|| {
            Problem::at(
                ErrorCode::InvalidRequestBody,
                Self::FIELD,
                "status must be \"Active\" or \"Inactive\".",
            )
        })
    }
}

/// One Transaction Confirmation configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub id: ConfigId,
    /// The program manager it belongs to (the caller's).
    pub pm_code: PmCode,
    /// Thredd's numeric program manager id, as given.
    pub pm_id: u64,
    /// `None`: every product of the program manager.
    pub product_id: Option<ProductId>,
    pub status: ConfigStatus,
    /// The message types it admits: some of 1, 2, 3, ascending.
    pub message_types: Vec<u8>,
    pub created_time: OffsetDateTime,
}

/// The message type a 112's `mtid` names: `0100` is 1, `0120` 2, `0200` 3.
pub fn message_type(mtid: &str) -> Option<u8> {
    match mtid {
        "0100" => Some(1),
        "0120" => Some(2),
        "0200" => Some(3),
        _ => None,
    }
}

/// The most configurations one program manager may have: a 112 reads them
/// all, and a fixture that creates one per test without a reset must hit a
/// clear limit rather than slow every 112 down.
pub const MOST_PER_PM: usize = 100;

/// Whether a program manager holding `held` configurations may create one more.
pub fn room(held: usize) -> Result<(), Refusal> {
    if held >= MOST_PER_PM {
        Err(Refusal::TooManyConfigurations(MOST_PER_PM))
    } else {
        Ok(())
    }
}

impl Configuration {
    pub fn create(id: ConfigId, pm_code: PmCode, spec: ConfigSpec, now: OffsetDateTime) -> Self {
        Self {
            id,
            pm_code,
            pm_id: spec.pm_id,
            product_id: spec.product_id,
            status: spec.status,
            message_types: spec.message_types,
            created_time: now,
        }
    }

    /// Sets its status; to the status it has is refused, as for a webhook.
    pub fn set_status(&mut self, status: ConfigStatus) -> Result<(), Refusal> {
        if self.status == status {
            return Err(Refusal::ConfigurationStatus(status.as_str()));
        }
        self.status = status;
        Ok(())
    }

    /// Whether it lets a 112 for `product` with `mtid` through.
    pub fn admits(&self, product: Option<ProductId>, mtid: &str) -> bool {
        self.status == ConfigStatus::Active
            && (self.product_id.is_none() || self.product_id == product)
            && message_type(mtid).is_some_and(|t| self.message_types.contains(&t))
    }
}

/// The largest `pmId`: within what a JSON client reads exactly, written as
/// an integer or as a whole float (`problem::whole_number`).
pub const MAX_PM_ID: u64 = 9_000_000_000_000_000;

/// A create's body, checked: every problem at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSpec {
    pub pm_id: u64,
    pub product_id: Option<ProductId>,
    pub status: ConfigStatus,
    pub message_types: Vec<u8>,
}

impl ConfigSpec {
    /// `{"pmId": 20, "productId": 345678, "status": "Active",
    /// "messageTypeFilter": [1, 2, 3]}`; `productId` may be left out, and
    /// `status` too (then `Active`).
    pub fn from_json(body: &Value) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::default();
        let pm_id = problems.take(match body.get("pmId") {
            Some(v) => whole_number(v).filter(|n| *n <= MAX_PM_ID).ok_or_else(|| {
                Problem::at(
                    ErrorCode::InvalidRequestBody,
                    "pmId",
                    "pmId must be Thredd's numeric program manager id, a whole number.",
                )
            }),
            None => Err(Problem::at(
                ErrorCode::InvalidRequestBody,
                "pmId",
                "pmId is required.",
            )),
        });
        let product_id = problems.take(ProductId::from_json(
            body.get("productId").unwrap_or(&Value::Null),
        ));
        let status = problems.take(match body.get("status") {
            None | Some(Value::Null) => Ok(ConfigStatus::Active),
            Some(v) => ConfigStatus::from_json(v),
        });
        let message_types = problems.take(message_types(body.get("messageTypeFilter")));
        match (pm_id, product_id, status, message_types) {
            (Some(pm_id), Some(product_id), Some(status), Some(message_types))
                if problems.is_empty() =>
            {
                Ok(Self {
                    pm_id,
                    product_id,
                    status,
                    message_types,
                })
            }
            _ => Err(problems.into_vec()),
        }
    }
}

fn message_types(value: Option<&Value>) -> Result<Vec<u8>, Problem> {
    const FIELD: &str = "messageTypeFilter";
    let bad = |message: String| Problem::at(ErrorCode::InvalidRequestBody, FIELD, message);
    let Some(Value::Array(items)) = value else {
        return Err(bad(
            "messageTypeFilter is required: an array of 1 (Authorisation 0100), 2 (Authorisation Advice 0120) and 3 (Online Financial Request 0200).".into(),
        ));
    };
    if items.is_empty() {
        return Err(bad(
            "messageTypeFilter needs at least one message type.".into()
        ));
    }
    let mut types = Vec::with_capacity(items.len());
    for item in items {
        match whole_number(item) {
            Some(t @ 1..=3) if !types.contains(&(t as u8)) => types.push(t as u8),
            Some(1..=3) => return Err(bad(format!("{item} is given twice."))),
            _ => {
                return Err(bad(format!(
                    "{} is not a message type: 1, 2 or 3.",
                    quote(&item.to_string())
                )))
            }
        }
    }
    types.sort_unstable();
    Ok(types)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn ids_look_like_thredds() {
        let id = ConfigId::generate(datetime!(2025-06-02 06:33:31 UTC));
        assert!(id.as_str().ends_with("-20250602063331"), "{id}");
        assert_eq!(ConfigId::parse(id.as_str()), Some(id));
        assert!(ConfigId::parse("5789653-20250602063331").is_some());
        for bad in [
            "",
            "5789653",
            "578965-20250602063331",
            "x789653-20250602063331",
        ] {
            assert_eq!(ConfigId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_documented_example_is_a_valid_body_and_bad_ones_name_their_field() {
        let spec = ConfigSpec::from_json(
            &json!({"pmId": 20, "productId": 345678, "status": "Active", "messageTypeFilter": [3, 1, 2]}),
        )
        .expect("valid");
        assert_eq!(spec.pm_id, 20);
        assert_eq!(spec.message_types, [1, 2, 3]);
        let problems = ConfigSpec::from_json(
            &json!({"pmId": "x", "status": "active", "messageTypeFilter": [1, 4]}),
        )
        .expect_err("invalid");
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
        assert_eq!(fields, ["pmId", "status", "messageTypeFilter"]);
        assert!(ConfigSpec::from_json(&json!({"pmId": 1, "messageTypeFilter": []})).is_err());
        assert!(ConfigSpec::from_json(&json!({"pmId": 1, "messageTypeFilter": [1, 1]})).is_err());
    }

    #[test]
    fn a_configuration_admits_its_message_types_for_its_product_while_active() {
        let product = |n| ProductId::from_json(&json!(n)).expect("id");
        let mut c = Configuration {
            id: ConfigId::generate(datetime!(2025-06-02 06:33:31 UTC)),
            pm_code: PmCode::parse("TRD").expect("pm"),
            pm_id: 20,
            product_id: product(7),
            status: ConfigStatus::Active,
            message_types: vec![1, 3],
            created_time: datetime!(2025-06-02 06:33:31 UTC),
        };
        assert!(c.admits(product(7), "0100"));
        assert!(c.admits(product(7), "0200"));
        assert!(!c.admits(product(7), "0120"), "not its type");
        assert!(!c.admits(product(8), "0100"), "another product");
        c.product_id = None;
        assert!(c.admits(product(8), "0100"), "every product");
        c.status = ConfigStatus::Inactive;
        assert!(!c.admits(product(8), "0100"), "inactive");
    }
}
