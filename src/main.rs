use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use webhook_manager::config::Settings;
use webhook_manager::startup::Application;

/// A self-hosted implementation of Thredd's Webhook Management API.
#[derive(Parser)]
#[command(name = "webhook-manager", version, about)]
struct Cli {
    /// Configuration file [default: ./config.toml if present, else built-in defaults]
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let started = Settings::load(cli.config.as_deref())
        .map_err(|e| e.to_string())
        .and_then(|settings| {
            let host = settings.server.host.clone();
            Application::build(settings)
                .map(|app| (host, app))
                .map_err(|e| e.to_string())
        });
    let (host, app) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("webhook-manager: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tests and scripts read this line to learn the port (server.port = 0 picks one).
    println!("webhook-manager listening on http://{host}:{}", app.port());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webhook-manager: {e}");
            ExitCode::FAILURE
        }
    }
}
