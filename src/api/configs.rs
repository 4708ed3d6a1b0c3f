//! Transaction Confirmation configurations (API.md section 10): what a
//! program manager creates before Thredd sends it 112s. Create answers
//! Thredd's documented shape (`content`, `totalCount`, `message`); list, get
//! by `configId` and change of status follow the webhook calls' shapes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{object_body, success, Caller};
use crate::domain::time::rfc3339_millis;
use crate::domain::{Clock, ConfigId, ConfigSpec, ConfigStatus, Configuration, ErrorCode, Problem};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::store::Store;

pub fn routes(r: &mut Routes) {
    r.resource("/api/v1/configs").get(list).post(create);
    r.resource("/api/v1/configs/{configId}").get(details);
    r.resource("/api/v1/configs/{configId}/status")
        .patch(set_status)
        .put(set_status);
}

/// The documented message of a create.
pub const CREATED: &str = "Configuration created successfully.";

/// One configuration on the wire.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView {
    config_id: String,
    pm_id: u64,
    /// `null`: every product of the program manager.
    product_id: Option<u64>,
    status: &'static str,
    message_type_filter: Vec<u8>,
    created_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

impl ConfigView {
    fn of(c: &Configuration) -> Self {
        Self {
            config_id: c.id.to_string(),
            pm_id: c.pm_id,
            product_id: c.product_id.map(|p| p.value()),
            status: c.status.as_str(),
            message_type_filter: c.message_types.clone(),
            created_time: rfc3339_millis(c.created_time),
            message: None,
        }
    }
}

/// `{"content": [...], "totalCount": n}`, the documented shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    content: Vec<ConfigView>,
    total_count: usize,
}

impl Page {
    fn of(content: Vec<ConfigView>) -> Self {
        Self {
            total_count: content.len(),
            content,
        }
    }
}

/// A `configId` in a path: one that cannot be an id is no configuration.
fn parse_config_id(raw: &str) -> Result<ConfigId, ApiError> {
    ConfigId::parse(raw).ok_or_else(|| {
        ApiError::NotFound(Problem::at(
            ErrorCode::ConfigurationNotFound,
            "configId",
            "No configuration with this configId was found; an id looks like 5789653-20250602063331.",
        ))
    })
}

/// `POST /api/v1/Configs`: `201` with the configuration and the documented
/// message.
async fn create(
    clock: web::Data<dyn Clock>,
    caller: Caller,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let pm = caller.required()?.clone();
    let body: Value = object_body(body.into_inner())?;
    let spec = ConfigSpec::from_json(&body).map_err(ApiError::BadRequest)?;
    let now = clock.now();
    let created = Configuration::create(ConfigId::generate(now), pm, spec, now);
    let created = store.create_configuration(created).await?;
    log::info!(
        "configuration {} created for program manager {}",
        created.id,
        created.pm_code
    );
    let mut view = ConfigView::of(&created);
    view.message = Some(CREATED);
    Ok(success(StatusCode::CREATED, Page::of(vec![view])))
}

/// `GET /api/v1/Configs`: the caller's configurations, oldest first; none is
/// an empty page (Thredd documents no error for it).
async fn list(caller: Caller, store: web::Data<dyn Store>) -> Result<HttpResponse, ApiError> {
    let found = store.configurations(caller.required()?).await?;
    let views = found.iter().map(ConfigView::of).collect();
    Ok(success(StatusCode::OK, Page::of(views)))
}

/// `GET /api/v1/Configs/{configId}`
async fn details(
    caller: Caller,
    path: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_config_id(&path)?;
    let found = store.configuration(id, caller.scope()).await?;
    Ok(success(StatusCode::OK, ConfigView::of(&found)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusBody {
    status: Value,
}

/// `PATCH` or `PUT /api/v1/Configs/{configId}/status` with
/// `{"status": "Active"|"Inactive"}`; to the status it has is `409`, as for
/// a webhook.
async fn set_status(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_config_id(&path)?;
    let body: StatusBody = object_body(body.into_inner())?;
    let status = ConfigStatus::from_json(&body.status).map_err(ApiError::bad_request)?;
    let change = Box::new(move |c: &mut Configuration| c.set_status(status));
    let changed = store
        .modify_configuration(id, caller.scope(), change)
        .await?;
    Ok(success(StatusCode::OK, ConfigView::of(&changed)))
}
