//! The command line: `serve` (the default) and `check-config` run the
//! service (`main.rs`); the other verbs are a developer's tools beside it:
//! `trigger` and `listen` over a running service's API and live stream,
//! `send` (one notification straight to a URL, no service needed), and
//! `completions` and `man`, generated from this same definition.
//!
//! Output is for people by default and one JSON object per line with
//! `--json`. Exit codes: 0 success; 1 the receiver or the service answered a
//! failure; 2 bad usage (clap's own code too); 3 the receiver or the service
//! could not be reached. Errors go to stderr and say what to do.

pub mod listen;
pub mod send;
pub mod service;
pub mod trigger;
pub mod webhooks;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

/// The receiver or the service answered a failure.
pub const EXIT_FAILED: u8 = 1;
/// Bad usage.
pub const EXIT_USAGE: u8 = 2;
/// The receiver or the service could not be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// A self-hosted implementation of Thredd's Webhook Management API.
#[derive(Debug, Parser)]
#[command(name = "webhook-manager", version, about)]
pub struct Cli {
    /// Configuration file [default: ./config.toml if present, else built-in defaults]
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (what runs without a command)
    Serve,
    /// Validate the configuration (file and WHM_ environment) and print it as the
    /// service would use it, secrets masked; exit 1 naming the offending key
    CheckConfig,
    /// Send one notification envelope straight to a URL (no service needed),
    /// signed when a secret is given, and print the answer
    Send(send::SendArgs),
    /// Trigger an event (or a scenario) on a running service and print its
    /// fan-out; with --wait, each delivery's outcome as it lands
    Trigger(trigger::TriggerArgs),
    /// Print each event and attempt on a running service as it happens
    Listen(listen::ListenArgs),
    /// List, create or set the status of webhooks on a running service
    Webhooks(webhooks::WebhooksArgs),
    /// Wait for deliveries on a running service
    Deliveries(webhooks::DeliveriesArgs),
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff)
    Man,
}

/// How a verb prints.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// One JSON object per line, for scripts
    #[arg(long, global = true)]
    pub json: bool,
}

/// Why a verb stopped: its exit code and what to tell the user.
#[derive(Debug)]
pub struct Exit {
    code: u8,
    message: String,
}

impl Exit {
    pub fn usage(message: String) -> Self {
        Self {
            code: EXIT_USAGE,
            message,
        }
    }

    pub fn unreachable(message: String) -> Self {
        Self {
            code: EXIT_UNREACHABLE,
            message,
        }
    }

    pub fn failed(message: String) -> Self {
        Self {
            code: EXIT_FAILED,
            message,
        }
    }

    /// What it tells the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Prints why a verb stopped; answers its exit code.
pub fn fail(exit: Exit) -> ExitCode {
    eprintln!("webhook-manager: {}", exit.message);
    ExitCode::from(exit.code)
}

/// `webhook-manager completions SHELL`.
pub fn completions(shell: Shell) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(
        shell,
        &mut command,
        "webhook-manager",
        &mut std::io::stdout(),
    );
    ExitCode::SUCCESS
}

/// `webhook-manager man`.
pub fn man() -> ExitCode {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    match page.render(&mut out) {
        Ok(()) => {
            let _ = std::io::stdout().write_all(&out);
            ExitCode::SUCCESS
        }
        Err(e) => fail(Exit::failed(format!("rendering the man page: {e}"))),
    }
}

/// An outcome's word for people: green when delivered, red when failed, on
/// a terminal only (and not with `NO_COLOR` set, as no-color.org asks);
/// padded to `width` either way, so columns stay aligned.
pub fn outcome(word: &str, width: usize) -> String {
    let padded = format!("{word:<width$}");
    let colour = match word {
        "delivered" => "32",
        "failed" => "31",
        _ => return padded,
    };
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\u{1b}[{colour}m{padded}\u{1b}[0m")
    } else {
        padded
    }
}

/// `--header NAME=VALUE` options as a webhook's `customHeaders`.
pub fn custom_headers(
    headers: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, Exit> {
    headers
        .iter()
        .map(|header| {
            header
                .split_once('=')
                .map(|(name, value)| (name.to_owned(), serde_json::Value::String(value.to_owned())))
                .ok_or_else(|| Exit::usage(format!("--header {header}: give NAME=VALUE")))
        })
        .collect()
}
