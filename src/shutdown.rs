//! Stopping on SIGTERM or SIGINT. The service handles the signals itself
//! (actix-web's own handling is turned off) so that it can first tell what
//! never finishes on its own, the dashboard's live streams, to end; then
//! actix-web stops accepting and lets the requests in flight finish (within
//! `server.shutdown_timeout_ms`). Without this, one open browser tab held
//! every stop for the whole timeout.

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

/// Whether the service is stopping; long-lived responses watch it.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Resolves once the service starts to stop.
    pub async fn wait(&self) {
        let mut stopping = self.0.clone();
        // An error means the sender is gone: the service is stopping too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }
}

/// The signal's sender, until the server exists.
pub struct Signals(watch::Sender<bool>);

/// A `Stopping` for the app, and the `Signals` to arm once the server runs.
pub fn channel() -> (Signals, Stopping) {
    let (sender, receiver) = watch::channel(false);
    (Signals(sender), Stopping(receiver))
}

impl Signals {
    /// Waits (on the current actix system) for SIGTERM or SIGINT, then
    /// stops: the live streams first, then the server, gracefully.
    pub fn arm(self, server: ServerHandle) {
        actix_rt::spawn(async move {
            signal().await;
            log::info!("stopping: ending live streams, finishing requests in flight");
            let _ = self.0.send(true);
            server.stop(true).await;
        });
    }
}

/// Resolves at SIGTERM or SIGINT (on the current actix system): the
/// server's stop, and the CLI's `listen` cleaning up on its way out.
pub async fn signal() {
    #[cfg(unix)]
    {
        use actix_rt::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = actix_rt::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(e) => {
                log::warn!("cannot watch SIGTERM ({e}); stopping on SIGINT only");
                let _ = actix_rt::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = actix_rt::signal::ctrl_c().await;
    }
}
