//! The sandbox's clock, which Thredd does not have: `GET /sandbox/v1/clock`
//! shows it, `POST /sandbox/v1/clock/advance` moves it forward and answers
//! once the work that fell due within the jump is done
//! (`sandbox::clock`): retries and backoff probes in due order, suspension,
//! the retention purge, the expiry of unanswered fraud alerts (each with its
//! 102 `Timeout`, sent at the jump's end). Access tokens expire by it, and what is created
//! afterwards carries its times. The `webhook-timestamp` of signed calls
//! stays the wall clock. A reset of everything returns it to the wall clock.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{object_body, success};
use crate::delivery::retention::Retention;
use crate::delivery::EngineStats;
use crate::domain::time::rfc3339_millis;
use crate::domain::{whole_number, Clock, ErrorCode, MovableClock, Problem};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::sandbox::clock::{advance as jump, EngineHandle};
use crate::sandbox::fraud::expire_due;
use crate::sandbox::Fixture;
use crate::shutdown::Stopping;
use crate::store::Store;

/// The longest jump: ten years.
pub const MAX_JUMP_MS: u64 = 3_660 * 86_400_000;

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/clock").get(show).served_if(on);
    r.resource("/sandbox/v1/clock/advance")
        .post(advance)
        .served_if(on);
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockView {
    now: String,
    offset_ms: i64,
}

impl ClockView {
    fn of(clock: &MovableClock) -> Self {
        Self {
            now: rfc3339_millis(clock.now()),
            offset_ms: clock.offset_ms(),
        }
    }
}

/// `GET /sandbox/v1/clock`: `{"now", "offsetMs"}`.
async fn show(clock: web::Data<MovableClock>) -> HttpResponse {
    success(StatusCode::OK, ClockView::of(&clock))
}

/// `{"ms": N}` or `{"to": "<RFC 3339>"}`; a key given as `null` counts as
/// given (and is refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    #[serde(default, deserialize_with = "given")]
    ms: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    to: Option<Value>,
}

/// A key that is present, `null` included.
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl AdvanceBody {
    /// The time to move to, forward of `now`.
    fn target(&self, now: OffsetDateTime) -> Result<OffsetDateTime, ApiError> {
        let bad = |field: &str, message: String| {
            ApiError::bad_request(Problem::at(ErrorCode::InvalidRequestBody, field, message))
        };
        match (&self.ms, &self.to) {
            (None, None) => Err(bad(
                "ms",
                "Give ms (milliseconds to move forward) or to (an RFC 3339 time).".into(),
            )),
            (Some(ms), None) => match whole_number(ms).filter(|ms| *ms <= MAX_JUMP_MS) {
                Some(ms) => Ok(now + time::Duration::milliseconds(i64::try_from(ms).unwrap_or(0))),
                None => Err(bad(
                    "ms",
                    format!("ms must be a whole number of milliseconds, 0 to {MAX_JUMP_MS}."),
                )),
            },
            (None, Some(to)) => {
                let to = to
                    .as_str()
                    .and_then(|raw| OffsetDateTime::parse(raw, &Rfc3339).ok())
                    .ok_or_else(|| {
                        bad(
                            "to",
                            "to must be an RFC 3339 time, such as 2026-12-24T09:00:00Z.".into(),
                        )
                    })?;
                if to < now {
                    return Err(bad(
                        "to",
                        format!(
                            "The clock only moves forward: to is before its now ({}).",
                            rfc3339_millis(now)
                        ),
                    ));
                }
                if to - now > time::Duration::milliseconds(MAX_JUMP_MS as i64) {
                    return Err(bad("to", "to is more than ten years ahead.".into()));
                }
                Ok(to)
            }
            _ => Err(bad("to", "Give ms or to, not both.".into())),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Advanced {
    #[serde(flatten)]
    clock: ClockView,
    /// Moves to a due time within the jump.
    steps: u32,
    /// Whether what fell due within the jump was done before this answer.
    settled: bool,
    /// Final notifications the retention purge deleted.
    purged: u64,
    /// Fraud alerts that expired unanswered within the jump (each with its
    /// 102 `Timeout` sent).
    fraud_alerts_expired: usize,
}

/// `POST /sandbox/v1/clock/advance` with `{"ms": N}` or `{"to": "<RFC 3339>"}`.
#[allow(clippy::too_many_arguments)]
async fn advance(
    body: web::Json<Value>,
    clock: web::Data<MovableClock>,
    store: web::Data<dyn Store>,
    stats: web::Data<EngineStats>,
    retention: web::Data<Retention>,
    fixture: web::Data<Fixture>,
    stopping: web::Data<Stopping>,
) -> Result<HttpResponse, ApiError> {
    let body: AdvanceBody = object_body(body.into_inner())?;
    let to = body.target(clock.now())?;
    let wake = store.waker();
    let engine = EngineHandle {
        wake: &wake,
        idle: &stats.idle,
    };
    let done = jump(&clock, to, engine, fixture.max_wait(), &stopping).await;
    let fraud_alerts_expired = expire_due(&**store, &fixture, &**clock).await?;
    let retention = retention.into_inner();
    let purged = web::block(move || retention.purge())
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))??;
    log::info!(
        "clock moved to {} ({} ms ahead of the wall clock) in {} steps{}",
        rfc3339_millis(clock.now()),
        clock.offset_ms(),
        done.steps,
        if done.settled {
            ""
        } else {
            "; the engine catches up on its own"
        }
    );
    Ok(success(
        StatusCode::OK,
        Advanced {
            clock: ClockView::of(&clock),
            steps: done.steps,
            settled: done.settled,
            purged,
            fraud_alerts_expired,
        },
    ))
}
