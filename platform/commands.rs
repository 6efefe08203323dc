//! What the `cohort` commands print: the library computes, these functions tell the
//! person at the terminal (stdout for results, stderr for problems) and choose the exit
//! status. Part of the binary only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cohort::export::Options;
use cohort::protocol::GameId;

/// `cohort replay`: prints what the replay found; the exit status (0 all agree, 1 a
/// mismatch, 2 the run or the trace file cannot be used).
pub fn replay(run: &Path, only: Option<GameId>, json: bool, ticks: Option<&Path>) -> u8 {
    let mut file = match ticks.map(std::fs::File::create).transpose() {
        Ok(f) => f.map(std::io::BufWriter::new),
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", ticks.unwrap_or(Path::new("")).display());
            return 2;
        }
    };
    let result = cohort::game::replay::replay_run_with(run, only, file.as_mut().map(|f| f as &mut dyn std::io::Write));
    if let Some(Err(e)) = file.as_mut().map(std::io::Write::flush) {
        eprintln!("error: cannot write the ticks: {e}");
        return 2;
    }
    match result {
        Ok(games) => {
            print!("{}", cohort::game::replay::describe(&games, json));
            if games.iter().all(cohort::game::replay::Replayed::matches) { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `cohort export` as typed: the pseudonym key comes from `COHORT_PSEUDONYM_KEY`.
pub fn export(dir: &Path, out: &Path, include_pilot: bool, pseudonymize: bool) -> u8 {
    let key = std::env::var("COHORT_PSEUDONYM_KEY").ok().filter(|k| !k.is_empty());
    if pseudonymize && key.is_none() {
        eprintln!("error: --pseudonymize needs a key in COHORT_PSEUDONYM_KEY (the same key gives the same pseudonyms)");
        return 2;
    }
    let pseudonym_key = key.filter(|_| pseudonymize).map(String::into_bytes);
    export_all(dir, out, &Options { include_pilot, pseudonym_key })
}

/// `cohort export`: writes `<out>/<experiment>/<table>.csv` for each experiment under
/// `dir`, prints what it wrote; the exit status (0 written, 2 nothing to export or a
/// file that cannot be written or read).
fn export_all(dir: &Path, out: &Path, opts: &Options) -> u8 {
    let found = cohort::export::experiments(dir);
    if found.is_empty() {
        eprintln!("error: {}", cohort::export::ExportError::NoLogs(dir.display().to_string()));
        return 2;
    }
    for (path, name) in found {
        let result = cohort::export::read(&path, opts).and_then(|tables| {
            cohort::export::write_csv(&tables, &out.join(&name))
                .map(|w| (w, tables.bonus_missing, tables.pilots_left_out))
        });
        match result {
            Ok((written, missing, pilots)) => {
                let counts: Vec<String> = written.iter().map(|(t, n)| format!("{t} {n}")).collect();
                println!("{name}: {} ({})", out.join(&name).display(), counts.join(", "));
                if pilots > 0 {
                    println!("{name}: {pilots} pilot or bot session(s) left out (--include-pilot keeps them)");
                }
                if missing > 0 {
                    println!(
                        "{name}: warning: {missing} game result(s) lacked the number `recruitment.bonus.from` names; those count nothing towards the bonus"
                    );
                }
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                return 2;
            }
        }
    }
    0
}

/// `cohort report`: reads every experiment under `dir` as the export does, writes the
/// page (and the SVG files); the exit status (0 written, 2 nothing to report or a file
/// that cannot be read or written).
pub fn report(dir: &Path, html: &Path, svg: Option<&Path>, include_pilot: bool) -> u8 {
    let found = cohort::export::experiments(dir);
    if found.is_empty() {
        eprintln!("error: {}", cohort::export::ExportError::NoLogs(dir.display().to_string()));
        return 2;
    }
    let opts = Options { include_pilot, pseudonym_key: None };
    let mut reports = Vec::new();
    for (path, name) in found {
        match cohort::export::read(&path, &opts) {
            Ok(tables) => reports.push(cohort::report::of(&name, &tables)),
            Err(e) => {
                eprintln!("error: {name}: {e}");
                return 2;
            }
        }
    }
    let names: Vec<&str> = reports.iter().map(|r| r.experiment.as_str()).collect();
    let page = cohort::report::html(&format!("Study report: {}", names.join(", ")), &reports);
    if let Err(e) = std::fs::write(html, page) {
        eprintln!("error: cannot write {}: {e}", html.display());
        return 2;
    }
    let charts: usize = reports.iter().map(|r| r.charts.len()).sum();
    println!("{}: {charts} chart(s) of {}", html.display(), names.join(", "));
    for r in &reports {
        if r.pilots_left_out > 0 {
            println!(
                "{}: {} pilot or bot session(s) left out (--include-pilot keeps them)",
                r.experiment, r.pilots_left_out
            );
        }
    }
    if let Some(dir) = svg {
        match cohort::report::write_svgs(&reports, dir) {
            Ok(files) => println!("{}: {} SVG file(s)", dir.display(), files.len()),
            Err(e) => {
                eprintln!("error: cannot write the SVG files under {}: {e}", dir.display());
                return 2;
            }
        }
    }
    0
}

/// `cohort forget`: prints what was done; the exit status (0 done, 1 nothing found, 2
/// a log that cannot be read or rewritten).
pub fn forget(dir: &Path, recruitment_id: &str) -> u8 {
    match cohort::export::forget::forget(dir, recruitment_id) {
        Ok(done) if done.participants.is_empty() => {
            eprintln!("nothing found for that recruitment id under {}", dir.display());
            1
        }
        Ok(done) => {
            println!("redacted {} lines in {} logs ({} sessions)", done.lines, done.files, done.participants.len());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// What `cohort plugin check` was given.
pub struct CheckArgs {
    pub file: Option<PathBuf>,
    pub config: Option<String>,
    pub experiment: Option<PathBuf>,
    pub scene: Option<String>,
    pub participants: Option<PathBuf>,
    pub call_timeout_ms: Option<u64>,
    pub memory_limit_mb: Option<usize>,
}

pub fn plugin_check(args: CheckArgs) -> ExitCode {
    use cohort::plugin::check::{self, Setup};
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let default_limits = cohort::plugin::Limits { call_timeout: Duration::from_millis(100), memory_bytes: 64 << 20 };
    let (mut file, mut setup) = (args.file.clone(), Setup::sample("{}", default_limits));
    if let Some(experiment) = &args.experiment {
        let (loaded, reports) = cohort::config::load_all(std::slice::from_ref(experiment));
        for report in &reports {
            eprint!("{report}");
        }
        let Some(loaded) = loaded.first() else { return ExitCode::from(2) };
        match Setup::from_experiment(loaded, args.scene.as_deref()) {
            Ok((plugin, from)) => {
                file = file.or(Some(plugin));
                setup = from;
            }
            Err(e) => return fail(e),
        }
    }
    let Some(file) = file else { return fail("name the policy file, or an experiment with --experiment".to_owned()) };
    if let Some(config) = &args.config {
        if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(config).is_err() {
            return fail("--config must be a JSON object, e.g. '{\"balance_by\": \"team\"}'".to_owned());
        }
        setup.config = config.clone();
    }
    if let Some(ms) = args.call_timeout_ms {
        setup.limits.call_timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = args.memory_limit_mb {
        setup.limits.memory_bytes = mb * 1024 * 1024;
    }
    if let Some(path) = &args.participants {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        };
        setup = match setup.with_participants(&text) {
            Ok(setup) => setup,
            Err(e) => return fail(e),
        };
    }
    match check::check(&file, &setup) {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            for w in &report.warnings {
                println!("warning: {w}");
            }
            for v in &report.violations {
                println!("violation: {v}");
            }
            if report.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        Err(e) => fail(e.to_string()),
    }
}

pub fn validate(files: &[PathBuf]) -> ExitCode {
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

/// What `cohort simulate` was given.
pub struct SimulateArgs {
    pub experiment: PathBuf,
    pub scenario: Option<PathBuf>,
    pub rate: Option<f64>,
    pub duration: Option<f64>,
    pub seed: Option<u64>,
    pub replay: Option<PathBuf>,
    pub scene: Option<String>,
    pub policy: Option<PathBuf>,
    pub compare: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub quiet: bool,
}

pub fn simulate(args: SimulateArgs) -> ExitCode {
    use cohort::simulate::{self, report::Report, scenario::Arrivals, scenario::Scenario};
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let load = |path: &Path| {
        let (loaded, reports) = cohort::config::load_all(&[path.to_path_buf()]);
        for report in &reports {
            eprint!("{report}");
        }
        loaded.into_iter().next()
    };
    let Some(loaded) = load(&args.experiment) else { return ExitCode::from(2) };
    let mut scenario: Scenario = match &args.scenario {
        Some(path) => match cohort::config::load_typed(path) {
            Ok(s) => s,
            Err(report) => {
                eprint!("{report}");
                return ExitCode::from(2);
            }
        },
        None => match cohort::config::load_typed_str::<Scenario>("{}") {
            Ok(s) => s,
            Err(report) => return fail(format!("{report}")),
        },
    };
    if let Some(rate) = args.rate {
        scenario.arrivals = Arrivals::Poisson { rate_per_sec: rate };
    }
    if let Some(run) = &args.replay {
        scenario.arrivals = Arrivals::Replay { run: run.clone() };
    }
    scenario.duration_secs = args.duration.unwrap_or(scenario.duration_secs);
    scenario.seed = args.seed.unwrap_or(scenario.seed);
    scenario.scene = args.scene.clone().or(scenario.scene);
    if let Err(e) = scenario.check() {
        return fail(e);
    }
    let replayed = match &scenario.arrivals {
        Arrivals::Replay { run } => {
            let m = match simulate::reduce(&loaded, scenario.scene.as_deref(), None) {
                Ok((_, m)) => m,
                Err(e) => return fail(e),
            };
            match simulate::replay::people(run, &m) {
                Ok(people) => {
                    let last = people.last().map_or(0.0, |p| p.arrives.as_secs_f64());
                    scenario.duration_secs = scenario.duration_secs.max(last + 1.0);
                    Some(people)
                }
                Err(e) => return fail(e),
            }
        }
        _ => None,
    };
    let people = scenario.people(replayed);
    // The compared run: another policy in this experiment, or another experiment.
    let other = match &args.compare {
        None => None,
        Some(path) if path.extension().is_some_and(|e| e == "wasm") => Some((loaded.clone(), Some(path.clone()))),
        // The same experiment with groups formed the other way (entry conditions).
        Some(path) if !path.exists() && (path.as_os_str() == "within" || path.as_os_str() == "across") => {
            use cohort::config::conditions::Grouping;
            let mut other = loaded.clone();
            let Some(entry) = other.experiment.conditions.entry.as_mut() else {
                eprintln!("error: --compare {}: the experiment has no entry conditions", path.display());
                return ExitCode::from(2);
            };
            entry.grouping = Some(if path.as_os_str() == "within" { Grouping::Within } else { Grouping::Across });
            if entry.grouping == Some(Grouping::Within) {
                entry.compose.clear();
            }
            Some((other, args.policy.clone()))
        }
        Some(path) => match load(path) {
            Some(l) => Some((l, None)),
            None => return ExitCode::from(2),
        },
    };
    let mut runs: Vec<Report> = Vec::new();
    // Each run is named by its experiment file (and, comparing groupings, the grouping).
    let file_name =
        |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    let files = [
        file_name(&args.experiment),
        match &args.compare {
            Some(p) if p.extension().is_some_and(|e| e == "yaml" || e == "yml") => file_name(p),
            _ => file_name(&args.experiment),
        },
    ];
    let plans = std::iter::once((&loaded, args.policy.clone())).chain(other.iter().map(|(l, p)| (l, p.clone())));
    for (n, (experiment, policy)) in plans.enumerate() {
        let quiet = args.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
        let mut bar = |done: f64| {
            if !quiet {
                let filled = (done * 30.0) as usize;
                eprint!(
                    "\r  run {} [{}{}] {:>3.0} %",
                    n + 1,
                    "#".repeat(filled),
                    " ".repeat(30 - filled.min(30)),
                    done * 100.0
                );
            }
        };
        match simulate::run(experiment, &scenario, policy.as_deref(), &people, &mut bar) {
            Ok(mut report) => {
                report.name = match &report.grouping {
                    Some(g) if args.compare.is_some() => format!("{} · {} · {g}", files[n], report.policy),
                    _ => format!("{} · {}", files[n], report.policy),
                };
                if runs.iter().any(|r| r.name == report.name) {
                    report.name = format!("{} (run {})", report.name, n + 1);
                }
                if !quiet {
                    eprintln!();
                }
                print!("{}", report.text());
                runs.push(report);
            }
            Err(e) => return fail(e),
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&if runs.len() == 1 {
            serde_json::json!(runs[0])
        } else {
            serde_json::json!(runs)
        })
        .expect("a report serializes");
        let written = if path.as_os_str() == "-" {
            println!("{json}");
            Ok(())
        } else {
            std::fs::write(path, json + "\n")
        };
        if let Err(e) = written {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
    }
    if let Some(path) = &args.html
        && let Err(e) = std::fs::write(path, Report::html(&runs))
    {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    ExitCode::SUCCESS
}

/// `cohort reload`: `reload_policy` through the admin API of the host at `addr`.
pub fn reload(experiments: &[String], addr: &str, token: &str) -> ExitCode {
    use cohort::client::http;
    let body = r#"{"action":"reload_policy"}"#;
    for id in experiments {
        let sent = http::agent()
            .post(http::url(addr, &format!("/admin/api/{id}")))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body)
            .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?)));
        let (status, text) = match sent {
            Ok(reply) => reply,
            Err(e) => {
                eprintln!("error: cannot reach the host at {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        let text = text.trim();
        if status != 202 {
            eprintln!("error: {id}: the host answered {status}: {text}");
            return ExitCode::from(2);
        }
        println!("{id}: reload requested; the swap is logged as policy_reloaded (or policy_reload_failed)");
    }
    ExitCode::SUCCESS
}
