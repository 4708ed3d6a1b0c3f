//! Real local HTTP receivers for heartbeats: they answer as told and record what arrived.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

#[derive(Clone)]
pub enum Behaviour {
    /// Answers at once with this status.
    Status(u16),
    /// Answers 200 after this long.
    Slow(Duration),
    /// Answers these statuses in turn, then the last one for ever.
    Sequence(&'static [u16]),
    /// Answers this status with an `X-Receiver: yes` header and a body of this
    /// many bytes.
    Body(u16, usize),
    /// Holds the first request this long, then answers 200; answers the others
    /// 200 at once.
    HoldFirst(Duration),
    /// Holds every request until the gate opens (see [`gate`]), then answers 200.
    Held(tokio::sync::watch::Receiver<bool>),
}

/// A closed gate for [`Behaviour::Held`], and the sender that opens it.
pub fn gate() -> (tokio::sync::watch::Sender<bool>, Behaviour) {
    let (open, gate) = tokio::sync::watch::channel(false);
    (open, Behaviour::Held(gate))
}

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub headers: HashMap<String, String>,
    /// The body exactly as it arrived.
    pub raw: String,
    pub body: Value,
}

#[derive(Clone)]
struct State {
    behaviour: Behaviour,
    received: Arc<Mutex<Vec<Received>>>,
}

fn status(code: u16) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).expect("status")).finish()
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    handle: ServerHandle,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            behaviour,
            received: Arc::clone(&received),
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(answer))
        })
        .workers(1)
        .listen(listener)
        .expect("listen receiver")
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received,
            handle,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("receiver lock").clone()
    }

    /// How many requests have arrived.
    pub fn count(&self) -> usize {
        self.received.lock().expect("receiver lock").len()
    }

    /// Waits (up to `within`) until at least `n` requests have arrived; returns them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        crate::helpers::eventually(within, || async { self.received() }, |r| r.len() >= n).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Stopping is asynchronous; dropping the future still signals the server.
        drop(self.handle.stop(false));
    }
}

async fn answer(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let count = {
        let mut received = state.received.lock().expect("receiver lock");
        received.push(Received {
            method: req.method().to_string(),
            headers,
            raw: String::from_utf8_lossy(&body).into_owned(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        received.len()
    };
    match &state.behaviour {
        Behaviour::Status(code) => status(*code),
        Behaviour::Slow(delay) => {
            actix_rt::time::sleep(*delay).await;
            HttpResponse::Ok().finish()
        }
        Behaviour::Sequence(codes) => status(codes[(count - 1).min(codes.len() - 1)]),
        Behaviour::HoldFirst(delay) => {
            if count == 1 {
                actix_rt::time::sleep(*delay).await;
            }
            HttpResponse::Ok().finish()
        }
        Behaviour::Held(gate) => {
            let mut gate = gate.clone();
            let _ = gate.wait_for(|open| *open).await;
            HttpResponse::Ok().finish()
        }
        Behaviour::Body(code, len) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(*code).expect("status"))
                .insert_header(("X-Receiver", "yes"))
                .body("b".repeat(*len))
        }
    }
}

/// A URL on which nothing listens: the port was free a moment ago.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hook")
}
