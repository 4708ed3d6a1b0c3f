//! The heartbeat scenario's webhook receiver: answers every request 200 at once.
//!
//! Usage: bench-receiver PORT

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let server = HttpServer::new(|| App::new().default_service(web::to(HttpResponse::Ok)))
        .workers(1)
        .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("bench-receiver listening on http://{address}");
    }
    server.run().await
}
