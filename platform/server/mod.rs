//! The HTTP side of the host: the accept loop, warp routes, the WebSocket endpoint per
//! experiment, the participant page and its static files, `/healthz`, and graceful
//! shutdown.
//!
//! Routes (warp, except the WebSocket upgrade, see [`upgrade`]):
//! - `GET /healthz` → 200 `ok` once every experiment is running; 503 while an
//!   experiment's event log cannot be written (naming it and the error);
//! - `GET /x/<id>` → the participant page (query parameters carry the recruitment id);
//! - `GET /x/<id>/ws` → the participant's WebSocket (protocol: `crate::protocol`);
//! - `GET /x/<id>/game/<scene>/<path>` → a file of that scene's game folder;
//! - `GET /static/<file>` → the browser client;
//! - `GET /admin/status.json`, `GET /metrics` → what is going on (admin token, see
//!   [`metrics`]).

mod accept;
pub mod admin;
pub mod admission;
mod assets;
pub mod client_addr;
mod frames;
pub mod listen;
pub mod metrics;
mod routes;
pub mod socket;
pub mod upgrade;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Loaded;
use crate::experiment::actor::{self, ExperimentHandle, StartError};
pub use admission::AdmissionOptions;
use routes::{Experiments, GameFolders};
pub use socket::SocketOptions;

/// Participant connections the host holds by default (all experiments). Each takes
/// one file descriptor: the process's `RLIMIT_NOFILE` must be above it (`serve` raises
/// its soft limit to the hard limit at start).
pub const DEFAULT_MAX_CONNECTIONS: usize = 50_000;

/// How the host runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Root of the event logs: `data/<experiment>/<run>/events.jsonl`.
    pub data: PathBuf,
    pub socket: SocketOptions,
    /// Most simultaneous participant connections (all experiments).
    pub max_connections: usize,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// New connections per client address.
    pub admission: AdmissionOptions,
    /// Arrivals close while the data directory's disk is nearly full.
    pub disk_guard: actor::DiskGuard,
    /// A graceful stop: when this token is cancelled, arrivals close and no new group
    /// forms; the host stops (as `shutdown` would) once no game is in progress, or
    /// after the limit.
    pub drain: Option<(CancellationToken, Duration)>,
    /// The token `/admin/status.json` and `/metrics` take (`Authorization: Bearer`);
    /// without one they answer 401.
    pub admin_token: Option<String>,
    /// Serve `/metrics` without the token (a scraper inside a private network).
    pub metrics_public: bool,
    /// Reload every experiment's policy files on SIGHUP (`cohort serve` sets it).
    pub reload_on_sighup: bool,
}

impl ServeOptions {
    pub fn new(data: PathBuf) -> Self {
        Self {
            data,
            socket: SocketOptions::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: Duration::from_secs(5),
            admission: AdmissionOptions::default(),
            disk_guard: actor::DiskGuard::default(),
            drain: None,
            admin_token: None,
            metrics_public: false,
            reload_on_sighup: false,
        }
    }
}

/// Why the host could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Serves `experiments` on `listener` until `shutdown` is cancelled; then tells every
/// participant, syncs every log and returns within `shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    experiments: Vec<Loaded>,
    opts: ServeOptions,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let tracker = TaskTracker::new();
    let run = run_id();
    let mut handles = HashMap::new();
    // An experiment that cannot start (its policy refuses its configuration, say) is
    // unavailable, with the cause; the others run. Only when none can start does the
    // host give up.
    let mut unavailable = BTreeMap::new();
    let mut first_error = None;
    for loaded in &experiments {
        match actor::start(loaded, &opts.data, &run, opts.disk_guard, shutdown.child_token(), &tracker) {
            Ok(handle) => {
                handles.insert(handle.id.clone(), handle);
            }
            Err(e) => {
                let id = loaded.experiment.id.to_string();
                tracing::error!(experiment = %id, error = %e, "the experiment cannot start; it is unavailable");
                unavailable.insert(id, e.to_string());
                first_error.get_or_insert(e);
            }
        }
    }
    if handles.is_empty()
        && let Some(e) = first_error
    {
        return Err(e.into());
    }
    let unavailable = Arc::new(unavailable);
    if opts.reload_on_sighup {
        tracker.spawn(listen::reload_on_sighup(handles.values().cloned().collect(), shutdown.clone()));
    }
    if let Some((drain, limit)) = opts.drain.clone() {
        tracker.spawn(drain_then_stop(handles.values().cloned().collect(), drain, limit, shutdown.clone()));
    }
    let games: GameFolders =
        Arc::new(experiments.iter().map(|l| (l.experiment.id.to_string(), l.games.clone())).collect());
    // Each experiment's texts as the pages load them (`/x/<id>/texts.js`).
    let texts: Arc<BTreeMap<String, String>> = Arc::new(
        experiments
            .iter()
            .map(|l| {
                let e = &l.experiment;
                let resolved = crate::config::texts::resolve(e.language, &e.texts);
                let json = serde_json::to_string(&resolved).expect("texts serialize");
                let checks = serde_json::json!({ "webrtc": e.screening.webrtc.is_some() });
                (e.id.to_string(), format!("export default {json};\nexport const checks = {checks};\n"))
            })
            .collect(),
    );
    let experiments: Experiments = Arc::new(handles);
    let opts = Arc::new(opts);
    let endpoint = Arc::new(upgrade::Endpoint {
        experiments: experiments.clone(),
        opts: opts.clone(),
        admission: admission::Admission::new(opts.admission.clone()),
        open: Arc::new(AtomicUsize::new(0)),
        tracker: tracker.clone(),
    });
    let admin = (opts.admin_token.clone(), opts.metrics_public);
    let pages = warp::service(routes::routes(experiments, games, texts, unavailable, admin));
    let dispatch = move |req: warp::http::Request<hyper::body::Incoming>, peer: std::net::SocketAddr| {
        let (endpoint, mut pages) = (endpoint.clone(), pages.clone());
        async move {
            match upgrade::experiment_of(req.uri().path()).map(str::to_owned) {
                Some(id) => endpoint.upgrade(&id, req, peer),
                None => match tower_service::Service::call(&mut pages, req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
            }
        }
    };
    accept::serve(listener, Arc::new(dispatch), shutdown.clone(), tracker.clone()).await;
    tracker.close();
    if tokio::time::timeout(opts.shutdown_grace, tracker.wait()).await.is_err() {
        tracing::warn!("some connections did not close in time");
    }
    Ok(())
}

/// Waits for `drain`, then closes every experiment's arrivals, waits until no game is
/// in progress (or `limit`), and stops the host.
async fn drain_then_stop(
    experiments: Vec<ExperimentHandle>,
    drain: CancellationToken,
    limit: Duration,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = drain.cancelled() => {}
        () = shutdown.cancelled() => return,
    }
    for handle in &experiments {
        handle.send(actor::ActorMsg::Input(crate::experiment::Input::Drain)).await;
    }
    let until = tokio::time::Instant::now() + limit;
    loop {
        let playing: usize = experiments.iter().map(|h| h.games.load(std::sync::atomic::Ordering::Relaxed)).sum();
        if playing == 0 || tokio::time::Instant::now() >= until || shutdown.is_cancelled() {
            tracing::info!(games_left = playing, "drained: stopping");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
}

/// A run id that sorts by start time: `20261122T001500Z-3f9a`.
fn run_id() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().replace(['-', ':'], "");
    let suffix: u16 = rand::random();
    format!("{stamp}-{suffix:04x}")
}
