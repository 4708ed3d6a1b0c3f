use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use webhook_manager::cli::{self, Cli, Command};
use webhook_manager::config::Settings;
use webhook_manager::runtime::Runtime;
use webhook_manager::startup::Application;

/// See `mimalloc` in Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config.as_deref();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => on_runtime(serve(config)),
        Command::CheckConfig => check_config(config),
        Command::Send(args) => on_runtime(cli::send::run(args)),
        Command::Trigger(args) => on_runtime(cli::trigger::run(args)),
        Command::Listen(args) => on_runtime(cli::listen::run(args)),
        Command::Webhooks(args) => on_runtime(cli::webhooks::run(args)),
        Command::Deliveries(args) => on_runtime(cli::webhooks::deliveries(args)),
        Command::Completions { shell } => cli::completions(shell),
        Command::Man => cli::man(),
    }
}

/// Runs a verb on an actix runtime (awc and the server need one).
fn on_runtime(verb: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    actix_web::rt::System::new().block_on(verb)
}

fn check_config(config: Option<&Path>) -> ExitCode {
    // The same parsing `serve` does: what passes here, the service starts with.
    let shown = Settings::load(config)
        .and_then(Runtime::from_settings)
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.settings.masked().to_toml());
    match shown {
        Ok(toml) => {
            print!("{toml}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("webhook-manager: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Option<&Path>) -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let started = match Settings::load(config).and_then(Runtime::from_settings) {
        Ok(runtime) => {
            let host = runtime.settings.server.host.clone();
            let dashboard = runtime.settings.dashboard.enabled;
            Application::build(runtime)
                .await
                .map(|app| (host, dashboard, app))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    let (host, dashboard, app) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("webhook-manager: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tests and scripts read this line to learn the port (server.port = 0 picks one).
    println!("webhook-manager listening on http://{host}:{}", app.port());
    if dashboard {
        println!("webhook-manager dashboard at http://{host}:{}/", app.port());
    }
    match app.run_until_stopped().await {
        Ok(()) => {
            log::info!("stopped: every acknowledged write is committed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("webhook-manager: {e}");
            ExitCode::FAILURE
        }
    }
}
