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
use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::config::Loaded;
use crate::experiment::actor::{self, ExperimentHandle, StartError};
pub use admission::AdmissionOptions;
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
    let pages = warp::service(routes(experiments, games, unavailable, admin));
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

type Experiments = Arc<HashMap<String, ExperimentHandle>>;
/// Game folders by experiment id, then scene id.
type GameFolders = Arc<HashMap<String, HashMap<String, Arc<crate::game::files::GameFolder>>>>;

fn routes(
    experiments: Experiments,
    games: GameFolders,
    unavailable: Arc<BTreeMap<String, String>>,
    (admin_token, metrics_public): (Option<String>, bool),
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static {
    let logs = experiments.clone();
    let down = unavailable.clone();
    let watched = experiments.clone();
    let health = warp::path!("healthz").and(warp::get()).map(move || {
        // Not ok while an experiment's event log cannot be written (input is refused
        // and the write retried until it succeeds).
        let mut failing: Vec<String> = logs
            .values()
            .filter_map(|h| {
                let e = h.log_health.error().filter(|_| h.log_health.failing())?;
                Some(format!("{}: event log cannot be written, retrying: {e}", h.id))
            })
            .collect();
        failing.extend(down.iter().map(|(id, cause)| format!("{id}: unavailable: {cause}")));
        if failing.is_empty() {
            boxed("ok")
        } else {
            let body = failing.join("\n");
            boxed(warp::reply::with_status(body, StatusCode::SERVICE_UNAVAILABLE))
        }
    });
    let closed = unavailable.clone();
    let page = warp::path!("x" / String).and(warp::get()).map(move |id: String| {
        boxed(if experiments.contains_key(&id) {
            html(assets::INDEX_HTML)
        } else if closed.contains_key(&id) {
            // The cause is for the researcher (logs, /healthz, /admin), not participants.
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header("content-type", "text/html; charset=utf-8")
                .body(assets::UNAVAILABLE_HTML.to_owned())
                .expect("valid response")
        } else {
            not_found()
        })
    });
    let files = warp::path("static").and(warp::path::tail()).and(warp::get()).map(|name: warp::path::Tail| {
        boxed(match assets::file(name.as_str()) {
            Some((content_type, body)) => Response::builder()
                .header("content-type", content_type)
                .header("cache-control", "no-cache")
                .header("x-content-type-options", "nosniff")
                .body(body.to_owned())
                .expect("valid response"),
            None => not_found(),
        })
    });
    let game_files = warp::path!("x" / String / "game" / String / ..).and(warp::path::tail()).and(warp::get()).map(
        move |id: String, scene: String, rel: warp::path::Tail| {
            let file = games.get(&id).and_then(|g| g.get(&scene)).and_then(|f| f.get(rel.as_str()));
            boxed(match file {
                Some(file) => Response::builder()
                    .header("content-type", file.content_type)
                    .header("cache-control", "no-cache")
                    .header("etag", format!("\"{}\"", &file.sha256[..16]))
                    .header("x-content-type-options", "nosniff")
                    .body(file.bytes.to_vec())
                    .expect("valid response"),
                None => Response::builder().status(StatusCode::NOT_FOUND).body(b"not found".to_vec()).expect("valid"),
            })
        },
    );
    let token = Arc::new(admin_token);
    let auth = warp::header::optional::<String>("authorization");
    let cookie = warp::header::optional::<String>("cookie");
    let status = warp::path!("admin" / "status.json").and(warp::get()).and(auth).and(cookie).map({
        let (watched, token) = (watched.clone(), token.clone());
        move |header: Option<String>, cookie: Option<String>| {
            let from_cookie = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
            let header = header.or(from_cookie);
            if !metrics::authorized(token.as_deref(), header.as_deref()) {
                return boxed(metrics::unauthorized());
            }
            let all: Vec<&ExperimentHandle> = watched.values().collect();
            boxed(
                Response::builder()
                    .header("content-type", "application/json")
                    .header("cache-control", "no-store")
                    .body(metrics::status(&all, &unavailable))
                    .expect("valid response"),
            )
        }
    });
    let prometheus = warp::path!("metrics").and(warp::get()).and(auth).map({
        let (token, watched) = (token.clone(), watched.clone());
        move |header: Option<String>| {
            if !metrics_public && !metrics::authorized(token.as_deref(), header.as_deref()) {
                return boxed(metrics::unauthorized());
            }
            let all: Vec<&ExperimentHandle> = watched.values().collect();
            boxed(
                Response::builder()
                    .header("content-type", "text/plain; version=0.0.4")
                    .header("cache-control", "no-store")
                    .body(metrics::prometheus(&all))
                    .expect("valid response"),
            )
        }
    });
    let admin_page = warp::path!("admin").and(warp::get()).and(cookie).map({
        let token = token.clone();
        move |cookie: Option<String>| {
            let given = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
            boxed(if metrics::authorized(token.as_deref(), given.as_deref()) {
                admin::page()
            } else {
                admin::login_form(false)
            })
        }
    });
    let login = warp::path!("admin" / "login")
        .and(warp::post())
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .map({
            let token = token.clone();
            move |form: HashMap<String, String>, site: Option<String>, origin: Option<String>, host: Option<String>| {
                let given = form.get("token").map(String::as_str);
                let same = admin::same_origin(site.as_deref(), origin.as_deref(), host.as_deref());
                boxed(admin::login(token.as_deref(), given, same))
            }
        });
    // Interventions: a bearer token, or the page's cookie from this host's own page.
    let act = warp::path!("admin" / "api" / String)
        .and(warp::post())
        .and(warp::body::content_length_limit(8192))
        .and(warp::body::bytes())
        .and(auth)
        .and(cookie)
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .then({
            let (token, watched) = (token.clone(), watched.clone());
            move |id: String,
                  body: warp::hyper::body::Bytes,
                  header: Option<String>,
                  cookie: Option<String>,
                  site: Option<String>,
                  origin: Option<String>,
                  host: Option<String>| {
                let (token, watched) = (token.clone(), watched.clone());
                async move {
                    let by_cookie = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
                    let cross_site =
                        header.is_none() && !admin::same_origin(site.as_deref(), origin.as_deref(), host.as_deref());
                    if cross_site {
                        return boxed(
                            Response::builder()
                                .status(StatusCode::FORBIDDEN)
                                .body("cross-site request refused".to_owned())
                                .expect("valid"),
                        );
                    }
                    if !metrics::authorized(token.as_deref(), header.or(by_cookie).as_deref()) {
                        return boxed(metrics::unauthorized());
                    }
                    let Some(handle) = watched.get(&id) else { return boxed(not_found()) };
                    boxed(admin::act(handle, &body).await)
                }
            }
        });
    let root = warp::path::end()
        .and(warp::get())
        .map(|| boxed("cohort is running. Participants use the link of their study."));
    health
        .or(page)
        .unify()
        .or(game_files)
        .unify()
        .or(status)
        .unify()
        .or(admin_page)
        .unify()
        .or(login)
        .unify()
        .or(act)
        .unify()
        .or(prometheus)
        .unify()
        .or(files)
        .unify()
        .or(root)
        .unify()
        .recover(|_| async { Ok::<_, std::convert::Infallible>(boxed(not_found())) })
        .unify()
}

/// The participant page, with headers that keep the recruitment id in the URL from
/// leaking (no referrer) and confine scripts to our own files.
fn html(body: &str) -> Response<String> {
    Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header(
            "content-security-policy",
            "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'none'",
        )
        .body(body.to_owned())
        .expect("valid response")
}

fn not_found() -> Response<String> {
    Response::builder().status(StatusCode::NOT_FOUND).body("not found".to_owned()).expect("valid response")
}

fn boxed(reply: impl warp::Reply + 'static) -> Box<dyn warp::Reply> {
    Box::new(reply)
}
