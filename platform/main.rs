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
    /// Serve experiments to participants (not yet implemented).
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
        Command::Serve { .. } => {
            eprintln!("cohort serve: not yet implemented (see the host issue)");
            ExitCode::from(1)
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
        eprintln!(
            "{problems} problem(s) in {} of {} file(s)",
            reports.len(),
            files.len()
        );
        ExitCode::from(2)
    }
}
