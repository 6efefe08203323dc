//! The `cohort` command line: parses arguments, sets up logging, calls the library.
//!
//! Exit codes: 0 success, 2 invalid input (bad arguments, invalid experiment files),
//! 1 internal error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// cohort: multiplayer online experiments, declared in YAML.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check experiment files; report every problem with file:line:column and key path.
    Validate {
        /// Experiment YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the JSON Schemas generated from the model (for editor validation).
    Schema {
        /// Directory to write into.
        #[arg(long, default_value = "schemas")]
        out: PathBuf,
    },
    /// Run N bots through a served experiment: a load test, or a dry run of a study.
    Bots(BotsArgs),
    /// Ask a running host to load its experiments' policy files again and swap them in
    /// without dropping anyone waiting (as SIGHUP does), through the admin API.
    Reload {
        /// The experiments (their ids).
        #[arg(required = true)]
        experiments: Vec<String>,
        /// The host's address.
        #[arg(long, default_value = "127.0.0.1:8000")]
        addr: String,
        /// The host's admin token.
        #[arg(long, env = "COHORT_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
    },
    /// Play synthetic participants through an experiment's waitroom and policy with a
    /// virtual clock (no sockets): match rate, waits, timeouts, probes, group RTTs and
    /// policy work, as text, JSON and an HTML report.
    Simulate(SimulateArgs),
    /// Export an experiment's event logs (all runs) as CSV tables for pandas or R.
    Export {
        /// `data/<experiment>`, or a whole data directory (every experiment in it).
        dir: PathBuf,
        /// Where the tables go: `<out>/<experiment>/<table>.csv`.
        #[arg(long, default_value = "export")]
        out: PathBuf,
        /// Keep pilot and bot sessions (`pilot=1` or `cohort_bot=1` in the link).
        #[arg(long)]
        include_pilot: bool,
        /// Replace recruitment ids by keyed hashes; the key is read from the
        /// environment variable COHORT_PSEUDONYM_KEY (keep it to link exports).
        #[arg(long)]
        pseudonymize: bool,
    },
    /// Delete a participant's data on request: their events are redacted in every run.
    Forget {
        /// `data/<experiment>`, or a whole data directory.
        dir: PathBuf,
        /// Their recruitment id (e.g. the Prolific id).
        recruitment_id: String,
    },
    /// Replay the games of a run from its event log with the host's engine, and check
    /// every state hash the players' pages reported.
    Replay {
        /// The run directory (`data/<experiment>/<run>`).
        run: PathBuf,
        /// Only this game.
        #[arg(long)]
        game: Option<uuid::Uuid>,
        /// One JSON object per game instead of text.
        #[arg(long)]
        json: bool,
        /// Also write every tick (inputs, and the module's `record` of the state) as
        /// JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        ticks: Option<PathBuf>,
    },
    /// Work with matchmaking policy components.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Serve experiments to participants, each at /x/<experiment id>.
    Serve {
        /// Experiment YAML files (default: experiments/demo.yaml).
        files: Vec<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Directory for the event logs.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[command(flatten)]
        admission: AdmissionArgs,
        /// Below this much free space (MiB) on the data directory's disk, new
        /// participants are turned away (running sessions go on); above twice that
        /// they are admitted again.
        #[arg(long, default_value_t = 100)]
        min_free_disk_mb: u64,
        /// On SIGTERM or Ctrl-C, close arrivals and let games in progress finish for up
        /// to this long before stopping (a second signal stops at once; 0: at once).
        #[arg(long, default_value_t = 120)]
        drain_secs: u64,
        /// The token of /admin/status.json and /metrics (else COHORT_ADMIN_TOKEN, else
        /// a random one, printed once at start).
        #[arg(long, env = "COHORT_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Serve /metrics without the token.
        #[arg(long)]
        metrics_public: bool,
    },
}

/// How new participant connections are admitted.
#[derive(clap::Args)]
struct AdmissionArgs {
    /// A reverse proxy (address or CIDR block, repeatable) whose forwarding header
    /// names the client; without it every participant behind the proxy shares one
    /// admission budget.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<cohort::server::client_addr::Cidr>,
    /// The header trusted proxies set.
    #[arg(long, value_enum, default_value = "x-forwarded-for")]
    client_address_header: cohort::server::client_addr::ForwardedHeader,
    /// New connections one client address may open at once.
    #[arg(long, default_value_t = 60.0)]
    admission_burst: f64,
    /// New connections per second and client address after the burst.
    #[arg(long, default_value_t = 1.0)]
    admission_per_sec: f64,
}

/// What `cohort bots` is asked to do.
#[derive(clap::Args)]
struct BotsArgs {
    /// The study link, e.g. http://127.0.0.1:8080/x/demo (its query parameters are
    /// passed on; each bot adds its own recruitment id and `cohort_bot=1`).
    link: String,
    /// How many bots.
    #[arg(long, short = 'n', default_value_t = 10)]
    count: usize,
    /// Arrivals per second (default: all at once).
    #[arg(long)]
    rate: Option<f64>,
    /// Connect from many addresses of 127.0.0.0/8 (50 bots each), as participants
    /// would from their own machines (the host admits 60 new connections per address).
    #[arg(long)]
    spread: bool,
    /// The URL parameter that carries the recruitment id.
    #[arg(long, default_value = "PROLIFIC_PID")]
    id_param: String,
    /// Scripted probe RTT in ms: a constant (`40`) or a uniform range (`20..120`).
    #[arg(long, default_value = "20")]
    rtt_ms: String,
    /// Probability that a scripted probe reports failure.
    #[arg(long, default_value_t = 0.0)]
    probe_failure: f64,
    /// Probe over real WebRTC DataChannels (needs the `webrtc` feature).
    #[arg(long)]
    webrtc: bool,
    /// Stop at the first scene and keep every connection open (idle participants),
    /// until Ctrl-C or --hold-secs.
    #[arg(long)]
    hold: bool,
    /// With --hold: how long to hold, in seconds (default: until Ctrl-C).
    #[arg(long)]
    hold_secs: Option<f64>,
    /// A bot gives up after this long without a message from the host.
    #[arg(long, default_value_t = 900.0)]
    timeout_secs: f64,
    /// Seed for answers and RTTs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// The experiment file.
    experiment: PathBuf,
    /// A scenario file (arrivals, attributes, dropout, RTTs; see docs/policies.md).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Poisson arrivals at this rate (per second), instead of the scenario's.
    #[arg(long)]
    rate: Option<f64>,
    /// Simulated seconds of arrivals.
    #[arg(long)]
    duration: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Replay the arrivals of a real run (its directory under the data directory).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// The multiplayer scene (its id); the first one by default.
    #[arg(long)]
    scene: Option<String>,
    /// Use this policy component instead of the scene's.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Also run this policy (.wasm) or experiment (.yaml) on the same arrivals, side
    /// by side.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Write the report(s) as JSON here (`-`: standard output).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a folder with a working policy in Python, JavaScript or C: source,
    /// build script, README, and a local test harness against a fake host.
    New {
        /// The policy's name (and folder).
        name: String,
        #[arg(long, value_enum)]
        lang: cohort::plugin::template::Lang,
        /// Where to create the folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Load a policy, check it implements the contract, run sample calls against
    /// waitrooms like an experiment's, judge every answer, print timings, work, memory
    /// and log volume. Exit 2 on a violation.
    Check {
        /// The policy component (.wasm). Optional with --experiment (its plugin).
        file: Option<PathBuf>,
        /// The `matchmaker.config` to configure it with, as JSON (default: the
        /// experiment's, else `{}`).
        #[arg(long)]
        config: Option<String>,
        /// Take the config, limits, group size and attributes from this experiment.
        #[arg(long)]
        experiment: Option<PathBuf>,
        /// With --experiment: the multiplayer scene (when several use a plugin).
        #[arg(long, requires = "experiment")]
        scene: Option<String>,
        /// A JSON list of participants to use as the waitroom, e.g.
        /// `[{"waited_ms": 30000, "server_rtt_ms": 40, "attributes": {"side": "left"}}]`.
        #[arg(long)]
        participants: Option<PathBuf>,
        /// Deadline of one call, in milliseconds (default: the experiment's, else 100).
        #[arg(long)]
        call_timeout_ms: Option<u64>,
        /// Memory cap, in MiB (default: the experiment's, else 64).
        #[arg(long)]
        memory_limit_mb: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COHORT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Validate { files } => commands::validate(&files),
        Command::Schema { out } => match cohort::schemas::write_all(&out) {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write schemas into {}: {e}", out.display());
                ExitCode::from(1)
            }
        },
        Command::Serve { files, addr, data, admission, min_free_disk_mb, drain_secs, admin_token, metrics_public } => {
            let admin = (admin_token, metrics_public);
            serve(files, &addr, data, admission, (min_free_disk_mb, drain_secs, admin))
        }
        Command::Bots(args) => bots(args),
        Command::Reload { experiments, addr, admin_token } => commands::reload(&experiments, &addr, &admin_token),
        Command::Simulate(a) => commands::simulate(commands::SimulateArgs {
            experiment: a.experiment,
            scenario: a.scenario,
            rate: a.rate,
            duration: a.duration,
            seed: a.seed,
            replay: a.replay,
            scene: a.scene,
            policy: a.policy,
            compare: a.compare,
            json: a.json,
            html: a.html,
            quiet: a.quiet,
        }),
        Command::Export { dir, out, include_pilot, pseudonymize } => {
            ExitCode::from(commands::export(&dir, &out, include_pilot, pseudonymize))
        }
        Command::Forget { dir, recruitment_id } => ExitCode::from(commands::forget(&dir, &recruitment_id)),
        Command::Replay { run, game, json, ticks } => {
            ExitCode::from(commands::replay(&run, game.map(cohort::protocol::GameId), json, ticks.as_deref()))
        }
        Command::Plugin { command: PluginCommand::New { name, lang, dir } } => {
            match cohort::plugin::template::create(&dir, &name, lang) {
                Ok(made) => {
                    println!("created {}: see its README.md (test, build, check)", made.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Plugin {
            command:
                PluginCommand::Check { file, config, experiment, scene, participants, call_timeout_ms, memory_limit_mb },
        } => commands::plugin_check(commands::CheckArgs {
            file,
            config,
            experiment,
            scene,
            participants,
            call_timeout_ms,
            memory_limit_mb,
        }),
    }
}

/// Loads and validates every file (refusing to start on any problem), binds, and
/// serves until SIGINT/SIGTERM.
fn serve(
    mut files: Vec<PathBuf>,
    addr: &str,
    data: PathBuf,
    admission: AdmissionArgs,
    (min_free_disk_mb, drain_secs, (admin_token, metrics_public)): (u64, u64, (Option<String>, bool)),
) -> ExitCode {
    if !(admission.admission_burst >= 1.0 && admission.admission_per_sec > 0.0) {
        eprintln!("error: --admission-burst must be at least 1 and --admission-per-sec above 0");
        return ExitCode::from(2);
    }
    if files.is_empty() {
        files.push(PathBuf::from("experiments/demo.yaml"));
    }
    let (loaded, reports) = cohort::config::load_all(&files);
    if !reports.is_empty() {
        for report in &reports {
            eprint!("{report}");
        }
        eprintln!("not starting: fix the problems above (`cohort validate` checks files without serving)");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let files = cohort::server::listen::raise_fd_limit();
    let max_connections = cohort::server::DEFAULT_MAX_CONNECTIONS as u64;
    if files > 0 && files < max_connections + 64 {
        tracing::warn!(
            open_file_limit = files,
            max_connections,
            "the open-file limit caps participant connections below the host's maximum; raise it (ulimit -Hn, or LimitNOFILE in a systemd unit)"
        );
    }
    runtime.block_on(async move {
        let listener = match cohort::server::listen::listen(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_owned());
        let (shutdown, drain) =
            (tokio_util::sync::CancellationToken::new(), tokio_util::sync::CancellationToken::new());
        let draining = (drain_secs > 0).then(|| drain.clone());
        tokio::spawn(cohort::server::listen::stop_on_signals(draining, shutdown.clone()));
        for l in &loaded {
            let param = &l.experiment.recruitment.id_param;
            println!("serving `{}` at http://{local}/x/{}?{param}=<participant id>", l.experiment.id, l.experiment.id);
        }
        let mut opts = cohort::server::ServeOptions::new(data);
        opts.disk_guard.min_free_bytes = min_free_disk_mb << 20;
        opts.drain = (drain_secs > 0).then(|| (drain, std::time::Duration::from_secs(drain_secs)));
        opts.metrics_public = metrics_public;
        opts.reload_on_sighup = true;
        opts.admin_token = Some(admin_token.unwrap_or_else(|| {
            let token: String = (0..4).map(|_| format!("{:08x}", rand::random::<u32>())).collect();
            println!("admin token (for /admin/status.json and /metrics; shown once): {token}");
            token
        }));
        opts.admission = cohort::server::AdmissionOptions {
            burst: admission.admission_burst,
            per_sec: admission.admission_per_sec,
            trusted_proxies: admission.trusted_proxies,
            header: admission.client_address_header,
        };
        match cohort::server::run(listener, loaded, opts, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// Runs bots against a study link; prints a progress line while they run (on a
/// terminal) and the summary. Exit 0 when no bot met an error, 1 otherwise.
fn bots(args: BotsArgs) -> ExitCode {
    let link = match cohort::bots::parse_link(&args.link) {
        Ok(link) => link,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rtt_ms = match cohort::bots::parse_range(&args.rtt_ms) {
        Some(r) => r,
        None => {
            eprintln!("error: --rtt-ms must be a number of ms (`40`) or a range (`20..120`), not `{}`", args.rtt_ms);
            return ExitCode::from(2);
        }
    };
    if args.webrtc && !cfg!(feature = "webrtc") {
        eprintln!("error: --webrtc needs a cohort built with `--features webrtc`");
        return ExitCode::from(2);
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let mut params = link.params.clone();
    params.push(("cohort_bot".to_owned(), "1".to_owned()));
    let plan = cohort::bots::Plan {
        addr: link.addr,
        experiment: link.experiment,
        id_param: args.id_param,
        id_prefix: format!("bot-{:04x}-", rand_suffix()),
        params,
        rtt_ms,
        probe_failure: args.probe_failure,
        webrtc: args.webrtc,
        hold: args.hold,
        message_timeout: std::time::Duration::from_secs_f64(args.timeout_secs.max(0.1)),
        seed: args.seed,
        stop: stop.clone(),
    };
    // A fresh stretch of source addresses per run: admission remembers recent ones.
    let first_address = usize::from(rand_suffix()) * 16;
    let opts = cohort::bots::RunOptions { count: args.count, rate: args.rate, spread: args.spread, first_address };
    cohort::server::listen::raise_fd_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let summary = runtime.block_on(async move {
        let live = std::sync::Arc::new(cohort::bots::Live::default());
        let progress = tokio::spawn(cohort::bots::progress(live.clone(), args.count));
        let end_hold = stop.clone();
        // Ctrl-C ends the run (held bots let go, walking bots stop) and prints the
        // summary so far; --hold-secs ends holding by itself.
        tokio::spawn(async move {
            let hold_for = args.hold_secs.map(std::time::Duration::from_secs_f64);
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async { match hold_for {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                } } => {}
            }
            end_hold.cancel();
        });
        let summary = cohort::bots::run(plan, opts, live).await;
        progress.abort();
        summary
    });
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary).expect("summaries serialize"));
    } else {
        print!("{}", summary.text());
    }
    if summary.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn rand_suffix() -> u16 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() as u16)
}
