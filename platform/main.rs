//! The `cohort` command line: parses arguments, sets up logging, calls the library.
//!
//! Exit codes: 0 success, 2 invalid input (bad arguments, invalid experiment files),
//! 1 internal error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

use cli::{AdmissionArgs, BotsArgs, Cli, Command, PluginCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COHORT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a terminal only, never escape codes in a redirected log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Report { dir, html, svg, include_pilot } => {
            ExitCode::from(commands::report(&dir, &html, svg.as_deref(), include_pilot))
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
    let chances = [args.leave, args.drop, args.back_in_time, args.ignore_probe, args.abandon];
    if chances.iter().any(|c| !(0.0..=1.0).contains(c)) {
        eprintln!("error: --leave, --drop, --back-in-time, --ignore-probe and --abandon are chances between 0 and 1");
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
        churn: cohort::bots::churn::Churn {
            leave: args.leave,
            drop: args.drop,
            back_in_time: args.back_in_time,
            grace_secs: args.grace_secs,
            ignore_probe: args.ignore_probe,
            abandon: args.abandon,
        },
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
