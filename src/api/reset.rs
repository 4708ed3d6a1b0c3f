//! `POST /sandbox/v1/reset`, which Thredd does not have: back to the configured
//! fixtures between tests. It is a barrier: it answers only once every
//! delivery attempt and heartbeat in flight for what it resets has ended or
//! been cancelled (`sandbox::barrier`), so nothing made before it reaches a
//! receiver after its answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{pm_param, query, success, Caller};
use crate::domain::inbox::inbox_name;
use crate::domain::{pm_code, Clock, ErrorCode, MovableClock, PmCode, Problem};
use crate::error::ApiError;
use crate::outbound::live::LiveSettings;
use crate::routes::Routes;
use crate::sandbox::Fixture;
use crate::seed::Seeds;
use crate::store::{Cleared, Store};

pub fn routes(r: &mut Routes) {
    let on = r.sandbox();
    r.resource("/sandbox/v1/reset").post(reset).served_if(on);
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetQuery {
    program_manager_code: Option<String>,
    inbox: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResetAnswer {
    /// `null`: every program manager.
    program_manager_code: Option<String>,
    webhooks_deleted: u64,
    notifications_deleted: u64,
    inbox_requests_deleted: u64,
    configurations_deleted: u64,
    fraud_alerts_deleted: u64,
    webhooks_seeded: usize,
}

/// What a reset covers: one program manager, every one, or none (only an inbox).
enum Scope {
    All,
    Pm(PmCode),
    InboxOnly,
}

impl Scope {
    /// The program manager reset, when it is one.
    fn pm(&self) -> Option<&PmCode> {
        match self {
            Self::Pm(pm) => Some(pm),
            Self::All | Self::InboxOnly => None,
        }
    }
}

/// `POST /sandbox/v1/reset[?programManagerCode=XYZ][&inbox=NAME]`:
/// - with neither: deletes every webhook, notification, event and inbox
///   request (served only while auth is off);
/// - `programManagerCode`: only that program manager's webhooks,
///   notifications and events, so parallel jobs that each use their own
///   program manager share one instance (with auth on, the token's program
///   manager is the scope, and naming another is 403);
/// - `inbox`: empties that inbox and removes its script (alone, nothing else
///   is reset); a reset of everything removes every inbox's script, returns
///   the clock to the wall clock and restores the configured `[delivery]`
///   settings (shared by every program manager, a scoped reset leaves them).
///
/// Then the configured fixtures that are absent are created again.
async fn reset(
    caller: Caller,
    req: HttpRequest,
    store: web::Data<dyn Store>,
    seeds: web::Data<Seeds>,
    fixture: web::Data<Fixture>,
    clock: web::Data<MovableClock>,
    delivery: web::Data<LiveSettings>,
) -> Result<HttpResponse, ApiError> {
    let ResetQuery {
        program_manager_code,
        inbox,
    } = query(&req)?;
    let named = program_manager_code.as_deref().map(pm_param).transpose()?;
    let inbox = inbox
        .map(|raw| inbox_name(&raw).map_err(ApiError::bad_request))
        .transpose()?;
    let scope = match (caller.scope(), named) {
        (Some(own), Some(named)) if *own != named => {
            return Err(ApiError::Forbidden(Problem::at(
                ErrorCode::PmCodeNotValid,
                pm_code::FIELD,
                "programManagerCode names another program manager than the caller's.",
            )))
        }
        (Some(own), _) => Scope::Pm(own.clone()),
        (None, Some(named)) => Scope::Pm(named),
        (None, None) if inbox.is_some() => Scope::InboxOnly,
        (None, None) => Scope::All,
    };
    let cleared = match &scope {
        Scope::InboxOnly => Cleared::default(),
        Scope::All | Scope::Pm(_) => {
            let pm = scope.pm();
            let work = async {
                let cleared = store.reset(pm).await;
                fixture.journal.clear(pm);
                fixture.clear_chaos(pm);
                cleared
            };
            fixture.barrier.reset(pm, work).await?
        }
    };
    let mut inbox_requests = cleared.inbox_requests;
    if let Some(name) = &inbox {
        inbox_requests += store.clear_inbox(name.clone()).await? as u64;
        fixture.clear_script(Some(name));
    }
    if matches!(scope, Scope::All) {
        fixture.clear_script(None);
        // Shared by every program manager: only a reset of everything
        // returns them to their start.
        clock.reset();
        delivery.restore();
    }
    if matches!(scope, Scope::All) || inbox.is_some() {
        fixture.inbox_changed();
    }
    let seeded = match scope {
        Scope::InboxOnly => 0,
        Scope::All | Scope::Pm(_) => seeds.apply(&**store, clock.now_seconds()).await?.created,
    };
    let pm = scope.pm().map(PmCode::to_string);
    log::info!(
        "reset of {}: {} webhooks, {} notifications, {} configurations and {} inbox requests deleted; {} fixtures created",
        pm.as_deref().unwrap_or("every program manager"),
        cleared.webhooks,
        cleared.notifications,
        cleared.configurations,
        inbox_requests,
        seeded
    );
    Ok(success(
        StatusCode::OK,
        ResetAnswer {
            program_manager_code: pm,
            webhooks_deleted: cleared.webhooks,
            notifications_deleted: cleared.notifications,
            inbox_requests_deleted: inbox_requests,
            configurations_deleted: cleared.configurations,
            fraud_alerts_deleted: cleared.fraud_alerts,
            webhooks_seeded: seeded,
        },
    ))
}
