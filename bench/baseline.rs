//! B0, the benchmark's baseline: the least an actix-web server can do per request
//! (one fixed ~300-byte JSON body), built from the same actix version and run with
//! the same worker count and CPU pinning as the service. Every scenario is reported
//! as a ratio to it.
//!
//! Usage: bench-baseline PORT WORKERS

use actix_web::{web, App, HttpResponse, HttpServer};

const BODY: &str = r#"{"status":"success","response":{"webhookId":"af2d48de-2ad7-42f8-a252-8422cd9e6078","programManagerCode":"TRD","productId":12345,"events":[101,102],"webhookStatus":"active","config":{"url":"https://client.example/webhook","customHeaders":{"ApiKey":"secret-1"}},"createdTime":"2024-01-24T23:20:28Z","lastModifiedTime":"2024-01-24T23:20:28Z"}}"#;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let workers: usize = args.get(2).and_then(|w| w.parse().ok()).unwrap_or(1);
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(BODY)
        }))
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("bench-baseline listening on http://{address}");
    }
    server.run().await
}
