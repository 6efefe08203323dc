//! The `cohort` command line: parses arguments, sets up logging, calls the library.
//!
//! Exit codes: 0 success, 2 invalid input (bad arguments, invalid experiment files),
//! 1 internal error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load a policy, check it implements the contract, run sample calls, print timings.
    Check {
        /// The policy component (.wasm).
        file: PathBuf,
        /// The `matchmaker.config` to initialise it with, as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Deadline of one call, in milliseconds.
        #[arg(long, default_value_t = 100)]
        call_timeout_ms: u64,
        /// Memory cap, in MiB.
        #[arg(long, default_value_t = 64)]
        memory_limit_mb: usize,
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
        Command::Validate { files } => validate(&files),
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
        Command::Serve { files, addr, data } => serve(files, &addr, data),
        Command::Plugin { command: PluginCommand::Check { file, config, call_timeout_ms, memory_limit_mb } } => {
            plugin_check(&file, &config, call_timeout_ms, memory_limit_mb)
        }
    }
}

/// Loads and validates every file (refusing to start on any problem), binds, and
/// serves until SIGINT/SIGTERM.
fn serve(mut files: Vec<PathBuf>, addr: &str, data: PathBuf) -> ExitCode {
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
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_owned());
        let shutdown = tokio_util::sync::CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        for l in &loaded {
            let param = &l.experiment.recruitment.id_param;
            println!("serving `{}` at http://{local}/x/{}?{param}=<participant id>", l.experiment.id, l.experiment.id);
        }
        match cohort::server::run(listener, loaded, cohort::server::ServeOptions::new(data), shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

async fn cancel_on_signal(token: tokio_util::sync::CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                token.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: telling participants and syncing the data");
    token.cancel();
}

fn plugin_check(file: &std::path::Path, config: &str, call_timeout_ms: u64, memory_limit_mb: usize) -> ExitCode {
    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(config).is_err() {
        eprintln!("error: --config must be a JSON object, e.g. '{{\"balance_by\": \"team\"}}'");
        return ExitCode::from(2);
    }
    let limits = cohort::plugin::Limits {
        call_timeout: std::time::Duration::from_millis(call_timeout_ms),
        memory_bytes: memory_limit_mb * 1024 * 1024,
    };
    match cohort::plugin::check::check(file, config, limits) {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            for v in &report.violations {
                println!("violation: {v}");
            }
            if report.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let (loaded, reports) = cohort::config::load_all(files);
    for l in &loaded {
        println!("ok: {}: {}", l.path.display(), l.experiment.summary());
    }
    for report in &reports {
        eprint!("{report}");
    }
    if reports.is_empty() {
        ExitCode::SUCCESS
    } else {
        let problems: usize = reports.iter().map(|r| r.problems.len()).sum();
        eprintln!("{problems} problem(s) in {} of {} file(s)", reports.len(), files.len());
        ExitCode::from(2)
    }
}
