//! The command line: every command and its options (clap). The commands themselves
//! are in `main.rs` (serve, bots) and `commands.rs`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// cohort: multiplayer online experiments, declared in YAML.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Draw a study's pictures from its event logs (all runs): arrivals and completions
    /// over time, time to group per condition, where people left, conditions' balance,
    /// probe RTTs, game results and pay, as one self-contained HTML page and SVG files.
    Report {
        /// `data/<experiment>`, or a whole data directory (every experiment in it).
        dir: PathBuf,
        /// The HTML page to write.
        #[arg(long, default_value = "report.html")]
        html: PathBuf,
        /// Also write each chart as `<DIR>/<experiment>/<chart>.svg`.
        #[arg(long, value_name = "DIR")]
        svg: Option<PathBuf>,
        /// Keep pilot and bot sessions (`pilot=1` or `cohort_bot=1` in the link).
        #[arg(long)]
        include_pilot: bool,
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
pub struct AdmissionArgs {
    /// A reverse proxy (address or CIDR block, repeatable) whose forwarding header
    /// names the client; without it every participant behind the proxy shares one
    /// admission budget.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<cohort::server::client_addr::Cidr>,
    /// The header trusted proxies set.
    #[arg(long, value_enum, default_value = "x-forwarded-for")]
    pub client_address_header: cohort::server::client_addr::ForwardedHeader,
    /// New connections one client address may open at once.
    #[arg(long, default_value_t = 60.0)]
    pub admission_burst: f64,
    /// New connections per second and client address after the burst.
    #[arg(long, default_value_t = 1.0)]
    pub admission_per_sec: f64,
}

/// What `cohort bots` is asked to do.
#[derive(clap::Args)]
pub struct BotsArgs {
    /// The study link, e.g. http://127.0.0.1:8080/x/demo (its query parameters are
    /// passed on; each bot adds its own recruitment id and `cohort_bot=1`).
    pub link: String,
    /// How many bots.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub count: usize,
    /// Arrivals per second (default: all at once).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Connect from many addresses of 127.0.0.0/8 (50 bots each), as participants
    /// would from their own machines (the host admits 60 new connections per address).
    #[arg(long)]
    pub spread: bool,
    /// The URL parameter that carries the recruitment id.
    #[arg(long, default_value = "PROLIFIC_PID")]
    pub id_param: String,
    /// Scripted probe RTT in ms: a constant (`40`) or a uniform range (`20..120`).
    #[arg(long, default_value = "20")]
    pub rtt_ms: String,
    /// Probability that a scripted probe reports failure.
    #[arg(long, default_value_t = 0.0)]
    pub probe_failure: f64,
    /// Probe over real WebRTC DataChannels (needs the `webrtc` feature).
    #[arg(long)]
    pub webrtc: bool,
    /// Stop at the first scene and keep every connection open (idle participants),
    /// until Ctrl-C or --hold-secs.
    #[arg(long)]
    pub hold: bool,
    /// With --hold: how long to hold, in seconds (default: until Ctrl-C).
    #[arg(long)]
    pub hold_secs: Option<f64>,
    /// A bot gives up after this long without a message from the host.
    #[arg(long, default_value_t = 900.0)]
    pub timeout_secs: f64,
    /// Seed for answers and RTTs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Churn: the chance that a waiting bot leaves the waitroom (after 0.5-10 s).
    #[arg(long, default_value_t = 0.0)]
    pub leave: f64,
    /// Churn: the chance that a bot loses its connection while waiting or playing...
    #[arg(long, default_value_t = 0.0)]
    pub drop: f64,
    /// ...and comes back within the reconnect grace (otherwise just after it).
    #[arg(long, default_value_t = 0.5)]
    pub back_in_time: f64,
    /// The experiment's `session.reconnect_grace_secs`, to time the returns.
    #[arg(long, default_value_t = 30.0)]
    pub grace_secs: f64,
    /// Churn: the chance that a bot never answers a probe (it times out).
    #[arg(long, default_value_t = 0.0)]
    pub ignore_probe: f64,
    /// Churn: the chance that a playing bot closes its tab for good.
    #[arg(long, default_value_t = 0.0)]
    pub abandon: f64,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The experiment file.
    pub experiment: PathBuf,
    /// A scenario file (arrivals, attributes, dropout, RTTs; see docs/policies.md).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Poisson arrivals at this rate (per second), instead of the scenario's (without a
    /// scenario: 1 per second).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Simulated seconds of arrivals (without a scenario: 600).
    #[arg(long)]
    pub duration: Option<f64>,
    /// The seed of the synthetic arrivals, attributes and dropouts: the same seed, the
    /// same participants.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay the arrivals of a real run (its directory under the data directory).
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// The multiplayer scene (its id); the first one by default.
    #[arg(long)]
    pub scene: Option<String>,
    /// Use this policy component instead of the scene's.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Also run this policy (.wasm) or experiment (.yaml) on the same arrivals, side
    /// by side; or `within` / `across`: this experiment with groups formed within or
    /// across entry conditions.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Write the report(s) as JSON here (`-`: standard output).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum PluginCommand {
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
