//! The actor shell: one tokio task per experiment that owns the [`State`], feeds it
//! socket inputs and timer ticks, and carries out its effects through the [`Outbox`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use super::disk::DiskGuard;
use super::disk::{free_bytes, keep_files};
use super::outbox::{Batch, ConnOut, Delivery, LogHealth, Outbox, Outgoing};
use super::state::{ConnId, Effect, Input, State};
use super::view::{ViewError, Views};
use crate::config::Loaded;
use crate::eventlog::{self, Event, LogError, LogFile};
use crate::protocol::{ClientMsg, ServerMsg};

mod paused;

/// Inputs queued per experiment before socket tasks wait.
const INBOX: usize = 4096;

/// What socket tasks (and the policy reloader) send the actor.
pub enum ActorMsg {
    /// A new connection and where to send its messages (before any of its inputs).
    Open {
        conn: ConnId,
        out: ConnOut,
    },
    Input(Input),
    /// A policy file loaded again (`reload_policy`), for the scene at this index.
    PolicyLoaded {
        scene: usize,
        loaded: Result<Box<dyn crate::matchmaking::Matchmaker>, String>,
    },
}

/// A cheap, cloneable handle to a running experiment actor.
#[derive(Clone)]
pub struct ExperimentHandle {
    pub id: String,
    inbox: mpsc::Sender<ActorMsg>,
    next_conn: Arc<AtomicU64>,
    /// Participant sockets of this experiment open now.
    pub open: Arc<std::sync::atomic::AtomicUsize>,
    /// `session.max_connections`, if set.
    pub max_connections: Option<usize>,
    /// Whether the experiment's event log can be written (for `/healthz`).
    pub log_health: Arc<LogHealth>,
    /// Games created and not ended (a draining host waits for them).
    pub games: Arc<AtomicUsize>,
    /// What the experiment looks like now (`/admin/status.json`, `/metrics`).
    pub stats: Arc<super::stats::Stats>,
}

impl ExperimentHandle {
    /// A fresh connection id.
    pub fn new_conn(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends to the actor; false when it has stopped.
    pub async fn send(&self, msg: ActorMsg) -> bool {
        self.inbox.send(msg).await.is_ok()
    }
}

/// Why an experiment could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    View(#[from] ViewError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Ice(#[from] crate::probe::ice::IceError),
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
    #[error("cannot start the experiment's thread: {0}")]
    Thread(std::io::Error),
}

/// Starts the actor of `loaded` with its event log in `data/<id>/<run>/`. The actor
/// stops when `shutdown` is cancelled, after telling every participant and syncing.
pub fn start(
    loaded: &Loaded,
    data: &Path,
    run: &str,
    guard: DiskGuard,
    shutdown: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) -> Result<ExperimentHandle, StartError> {
    let experiment = Arc::new(loaded.experiment.clone());
    let views = Arc::new(Views::render(&experiment, &loaded.base_dir)?);
    let id = experiment.id.to_string();
    let secrets = crate::probe::ice::load_secrets(&experiment, &loaded.base_dir)?;
    // The policies first: one that cannot start leaves no run directory behind.
    let policies = super::reload::load_policies(&experiment, &loaded.base_dir)?;
    let restored = super::recovery::restore(&experiment, data);
    let run_dir = eventlog::run_dir(data, &id, run);
    let mut log = LogFile::create(&run_dir)?;
    let files = keep_files(loaded, &run_dir).map_err(|source| LogError::Create { path: run_dir.clone(), source })?;
    log.append(
        wall_ms(),
        Event::RunStarted {
            experiment: id.clone(),
            run: run.to_owned(),
            host_version: env!("CARGO_PKG_VERSION").to_owned(),
            files,
        },
    )?;
    let mut state = State::new(experiment.clone(), views, None);
    for (scene, policy) in policies {
        state.set_policy(scene, policy);
    }
    state.set_ice_provider(crate::probe::ice::provider(experiment.clone(), secrets));
    let mut follower = super::reunion::Follower::new(&experiment, data);
    if let Some(f) = &mut follower {
        state.add_reunions(f.read_new());
    }
    let restored_count = restored.people.len();
    for effect in state.restore(restored, std::time::Duration::ZERO, wall_ms()) {
        if let Effect::Log(event) = effect {
            log.append(wall_ms(), event)?;
        }
    }
    log.sync()?;
    tracing::info!(experiment = %id, log = %log.path().display(), restored = restored_count, "experiment ready");
    let (tx, rx) = mpsc::channel(INBOX);
    let reloader = super::reload::Reloader::new(experiment.clone(), &loaded.base_dir, tx.downgrade());
    let host_bots = super::host_bots::Runner::new(&loaded.games, tx.downgrade());
    let log_health = Arc::new(LogHealth::default());
    let outbox = Outbox::start(log, log_health.clone());
    let health = log_health.clone();
    let games: Arc<AtomicUsize> = Arc::default();
    let counted = games.clone();
    let stats = Arc::new(super::stats::Stats::new(&id));
    let observed = stats.clone();
    // The actor gets a thread of its own: policy calls are synchronous (bounded by
    // their deadline), and a slow one must not stall the runtime that drives sockets.
    let span = tracing::info_span!("experiment", id = %id);
    let (done, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(format!("cohort-{id}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match runtime {
                Ok(rt) => {
                    let actor = run_actor(
                        state,
                        rx,
                        outbox,
                        (health, counted, observed, reloader, follower, host_bots),
                        (guard, run_dir),
                        shutdown,
                    );
                    rt.block_on(tracing::Instrument::instrument(actor, span))
                }
                Err(e) => tracing::error!(error = %e, "cannot start the experiment's runtime"),
            }
            let _ = done.send(());
        })
        .map_err(StartError::Thread)?;
    tracker.spawn(async move {
        let _ = stopped.await;
    });
    Ok(ExperimentHandle {
        id,
        inbox: tx,
        next_conn: Arc::new(AtomicU64::new(1)),
        open: Arc::default(),
        max_connections: loaded.experiment.session.max_connections.map(|n| n as usize),
        log_health,
        games,
        stats,
    })
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

struct Shell {
    state: State,
    outbox: Outbox,
    conns: HashMap<ConnId, ConnOut>,
    /// Experiment time 0. Moved forward by the length of every log outage, so that the
    /// state machine's clock stands still while nothing can be recorded.
    epoch: Instant,
    /// When the current log outage began, if one is going on.
    paused_since: Option<Instant>,
    health: Arc<LogHealth>,
    shutdown: CancellationToken,
    games: Arc<AtomicUsize>,
    stats: Arc<super::stats::Stats>,
    reloader: super::reload::Reloader,
    /// Follows the earlier experiments' logs, for `reunion`.
    follower: Option<super::reunion::Follower>,
    /// The host's copies of games whose bot seats it plays.
    host_bots: super::host_bots::Runner,
}

/// How often deadlines are looked at again while the event log cannot be written.
const PAUSED_POLL: std::time::Duration = std::time::Duration::from_millis(100);

async fn run_actor(
    state: State,
    mut rx: mpsc::Receiver<ActorMsg>,
    outbox: Outbox,
    (health, games, stats, reloader, follower, host_bots): (
        Arc<LogHealth>,
        Arc<AtomicUsize>,
        Arc<super::stats::Stats>,
        super::reload::Reloader,
        Option<super::reunion::Follower>,
        super::host_bots::Runner,
    ),
    (guard, log_dir): (DiskGuard, std::path::PathBuf),
    shutdown: CancellationToken,
) {
    let mut shell = Shell {
        state,
        outbox,
        conns: HashMap::new(),
        epoch: Instant::now(),
        paused_since: None,
        health,
        shutdown: shutdown.clone(),
        games,
        stats,
        reloader,
        follower,
        host_bots,
    };
    let mut last_tick: Option<Instant> = None;
    let mut observe = tokio::time::interval(std::time::Duration::from_secs(1));
    observe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut disk_check = tokio::time::interval(guard.every);
    disk_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        shell.follow_log_health();
        // A deadline that a tick did not consume must not spin the thread.
        let deadline = shell.state.next_deadline().map(|d| {
            let at = shell.epoch + d;
            match last_tick {
                Some(t) if at <= t => t + std::time::Duration::from_millis(1),
                _ => at,
            }
        });
        // While the log cannot be written, time stands still for the state machine:
        // deadlines wait (no timeout or game start that could not be recorded).
        let deadline = match deadline {
            Some(at) if shell.health.failing() => Some(at.max(Instant::now() + PAUSED_POLL)),
            other => other,
        };
        // Due deadlines come before the inbox: a saturated inbox must not keep a
        // waitroom timeout, a game start or a probe deadline from firing.
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = sleep_until_opt(deadline) => {
                if !shell.health.failing() {
                    last_tick = Some(Instant::now());
                    shell.handle(Input::Tick).await;
                }
            }
            _ = observe.tick() => shell.stats.observe(&shell.state, shell.now()),
            _ = disk_check.tick() => {
                if let Some(free) = free_bytes(&log_dir) {
                    let arrivals = guard.arrivals(free, shell.state.arrivals());
                    if &arrivals != shell.state.arrivals() && !shell.health.failing() {
                        tracing::warn!(free_bytes = free, ?arrivals, "disk space guard");
                        shell.handle(Input::Arrivals(arrivals)).await;
                    }
                }
            }
            msg = rx.recv() => match msg {
                Some(ActorMsg::Open { conn, out }) => {
                    shell.conns.insert(conn, out);
                }
                Some(ActorMsg::Input(input)) => {
                    let closed = if let Input::Closed { conn } = &input { Some(*conn) } else { None };
                    let reload = matches!(input, Input::Admin(super::AdminAction::ReloadPolicy));
                    shell.handle(input).await;
                    if reload {
                        shell.reloader.start(&shell.state);
                    }
                    if let Some(conn) = closed {
                        shell.conns.remove(&conn);
                    }
                }
                Some(ActorMsg::PolicyLoaded { scene, loaded }) => {
                    let effects = shell.state.replace_policy(scene, loaded, shell.now());
                    shell.carry_out(effects).await;
                }
                None => break,
            },
        }
    }
    shell.stop().await;
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Shell {
    async fn handle(&mut self, input: Input) {
        self.follow_log_health();
        if let Input::Message { conn, msg } = &input
            && self.health.failing()
        {
            return self.refuse_paused(*conn, msg);
        }
        if matches!(input, Input::Message { .. }) {
            self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
        }
        // Groups formed in an earlier experiment since the last look (it may run on in
        // this host): a participant's group was created before they could come back.
        if let (Input::Message { msg: ClientMsg::Hello { .. }, .. }, Some(f)) = (&input, &mut self.follower) {
            self.state.add_reunions(f.read_new());
        }
        let now = self.now();
        let effects = self.state.handle(input, now);
        self.games.store(self.state.games_in_progress(), Ordering::Relaxed);
        self.carry_out(effects).await;
    }

    /// Turns effects into one outbox batch, serializing each message once.
    async fn carry_out(&mut self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let ts = wall_ms();
        let mut batch = Batch::default();
        for effect in effects {
            match effect {
                Effect::Log(event) => {
                    self.stats.record(&event, ts);
                    batch.events.push((ts, event));
                }
                Effect::Send { conn, msg } => {
                    if let Some(out) = self.conns.get(&conn) {
                        self.stats.messages_out.fetch_add(1, Ordering::Relaxed);
                        let text: Arc<str> = serde_json::to_string(&msg).expect("server messages serialize").into();
                        batch.deliveries.push(Delivery { to: out.clone(), what: Outgoing::Text(text) });
                    }
                }
                Effect::Close { conn } => {
                    if let Some(out) = self.conns.get(&conn) {
                        batch.deliveries.push(Delivery { to: out.clone(), what: Outgoing::Close });
                    }
                }
                Effect::HostBots(command) => self.host_bots.handle(command),
            }
        }
        // A log outage can fill the outbox's queue: then this waits, but never past a
        // shutdown (whose connections are closed; nothing of this batch was shown).
        let shutdown = self.shutdown.clone();
        tokio::select! {
            biased;
            () = self.outbox.push(batch) => {}
            () = shutdown.cancelled() => {}
        }
    }

    /// Tells every connected participant, logs the stop, and waits for the outbox.
    async fn stop(self) {
        // During a log outage, stop retrying: what could not be written is given up.
        self.outbox.give_up();
        let bye: Arc<str> =
            serde_json::to_string(&ServerMsg::Shutdown { message: self.state.experiment.text("host.shutdown") })
                .expect("server messages serialize")
                .into();
        let mut batch = Batch { events: vec![(wall_ms(), Event::RunStopped)], ..Batch::default() };
        for out in self.conns.values() {
            batch.deliveries.push(Delivery { to: out.clone(), what: Outgoing::Text(bye.clone()) });
            batch.deliveries.push(Delivery { to: out.clone(), what: Outgoing::Close });
        }
        if self.outbox.try_push(batch).is_err() {
            // The queue is full (a log outage): close the connections directly.
            for out in self.conns.values() {
                out.cancel.cancel();
            }
        }
        self.outbox.close().await;
        tracing::info!("experiment stopped; event log synced");
    }
}
