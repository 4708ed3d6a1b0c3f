//! The success envelope every API answer shares.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

#[derive(Serialize)]
struct Envelope<T> {
    status: &'static str,
    response: T,
}

/// `{"status": "success", "response": body}` with the given status.
pub fn success(status: StatusCode, body: impl Serialize) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        status: "success",
        response: body,
    })
}

/// The same envelope around a response rendered already, as JSON text in
/// pieces (a webhook's document; a list's documents and the commas between
/// them): the pieces are copied, not serialised again.
pub fn success_rendered<'a>(
    status: StatusCode,
    response: impl IntoIterator<Item = &'a str>,
) -> HttpResponse {
    let mut body = String::from(r#"{"status":"success","response":"#);
    for piece in response {
        body.push_str(piece);
    }
    body.push('}');
    HttpResponse::build(status)
        .insert_header(ContentType::json())
        .body(body)
}
