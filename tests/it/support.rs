//! Shared helpers: running the `cohort` binary from the repository root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `Cargo.toml` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cohort ARGS...` from the repository root.
pub fn cohort<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(args)
        .current_dir(root())
        .env("COHORT_LOG", "warn")
        .output()
        .expect("the cohort binary runs")
}

/// Runs `cohort ARGS...` without blocking the test's runtime (for commands that talk
/// to a host the test runs).
pub async fn cohort_async<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(args)
        .current_dir(root())
        .env("COHORT_LOG", "warn")
        .output()
        .await
        .expect("the cohort binary runs")
}

/// `cohort export DATA/<experiment> --include-pilot` (bots are pilots) into a fresh
/// folder; the experiment's tables are in `<returned>/<experiment>/`.
pub async fn export_with_pilots(data: &Path, experiment: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let dir = data.join(experiment);
    let export = cohort_async([
        "export".as_ref(),
        dir.as_os_str(),
        "--out".as_ref(),
        out.path().as_os_str(),
        "--include-pilot".as_ref(),
    ])
    .await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Files in `dir` (relative to the root) with extension `ext`, sorted, as paths
/// relative to the root.
pub fn files_with_extension(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| Path::new(dir).join(p.file_name().expect("file name")))
        .collect();
    files.sort();
    files
}

/// Whether golden files should be rewritten instead of compared.
pub fn blessing() -> bool {
    std::env::var_os("COHORT_BLESS").is_some()
}

/// A host running in this test's runtime on an ephemeral port.
pub struct TestHost {
    pub addr: String,
    pub data: PathBuf,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), cohort::server::ServeError>>,
}

impl TestHost {
    /// Serves the experiment files (relative to the repository root) with event logs
    /// under `data`; `tweak` adjusts the options (e.g. a fast heartbeat).
    pub async fn start(files: &[&str], data: &Path, tweak: impl FnOnce(&mut cohort::server::ServeOptions)) -> Self {
        Self::start_on("127.0.0.1:0", files, data, tweak).await
    }

    /// Like [`TestHost::start`], listening on `bind` (e.g. `0.0.0.0:0` to be reached
    /// from the test's own network namespaces).
    pub async fn start_on(
        bind: &str,
        files: &[&str],
        data: &Path,
        tweak: impl FnOnce(&mut cohort::server::ServeOptions),
    ) -> Self {
        let paths: Vec<PathBuf> = files.iter().map(|f| root().join(f)).collect();
        let (loaded, reports) = cohort::config::load_all(&paths);
        assert!(reports.is_empty(), "test experiments must be valid: {reports:?}");
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr").to_string();
        let mut opts = cohort::server::ServeOptions::new(data.to_path_buf());
        tweak(&mut opts);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(cohort::server::run(listener, loaded, opts, shutdown.clone()));
        Self { addr, data: data.to_path_buf(), shutdown, task }
    }

    /// Stops the host as SIGTERM would and returns how long it took.
    pub async fn stop(self) -> std::time::Duration {
        let started = std::time::Instant::now();
        self.shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(20), self.task)
            .await
            .expect("the host stops within 20 s")
            .expect("the host task does not panic")
            .expect("the host stops cleanly");
        started.elapsed()
    }

    /// Waits (polling the durable log, up to 10 s) until `experiment` has recorded an
    /// event `pred` accepts; fails the test with `what` otherwise.
    pub async fn wait_for_event(&self, experiment: &str, what: &str, pred: impl Fn(&cohort::eventlog::Event) -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.events(experiment).iter().any(&pred) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Every event of every run of `experiment` so far, oldest first.
    pub fn events(&self, experiment: &str) -> Vec<cohort::eventlog::Event> {
        cohort::eventlog::previous_logs(&self.data, experiment)
            .iter()
            .flat_map(|log| cohort::eventlog::read(log).expect("log readable"))
            .map(|r| r.event)
            .collect()
    }
}

/// Whether `plugins/build.sh` has built the example policies. Locally a missing build
/// skips the tests that need it (with a notice); under `CI=true`, where `.ci/run`
/// builds them, it is a failure.
pub fn plugins_built() -> bool {
    let missing: Vec<&str> =
        ["plugins/c-fifo", "plugins/python-balance", "plugins/js-latency", "tests/policies/py-wasi"]
            .into_iter()
            .filter(|p| !root().join(p).join("policy.wasm").is_file())
            .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "example policies not built under CI: {missing:?}");
    eprintln!("SKIPPED: example policies not built ({missing:?}); run plugins/build.sh");
    false
}

/// A `cohort bots` plan against `host`: bots marked `cohort_bot=1` (as the CLI marks
/// them), a scripted 20 ms probe RTT, 20 s patience; tests override what they need.
pub fn bot_plan(host: &TestHost, experiment: &str) -> cohort::bots::Plan {
    cohort::bots::Plan {
        addr: host.addr.clone(),
        experiment: experiment.to_owned(),
        id_param: "PROLIFIC_PID".to_owned(),
        id_prefix: "bot-".to_owned(),
        params: vec![("cohort_bot".to_owned(), "1".to_owned())],
        rtt_ms: (20.0, 20.0),
        probe_failure: 0.0,
        webrtc: false,
        hold: false,
        message_timeout: std::time::Duration::from_secs(20),
        seed: 1,
        stop: tokio_util::sync::CancellationToken::new(),
        churn: Default::default(),
    }
}

/// `cohort serve ARGS... --addr 127.0.0.1:0` as a child process (in the repository
/// root, quiet); the child and the address it printed.
pub fn serve_binary<I, S>(args: I) -> (std::process::Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .arg("serve")
        .args(args)
        .args(["--addr", "127.0.0.1:0"])
        .current_dir(root())
        .env("COHORT_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().expect("piped")).read_line(&mut line).expect("a serving line");
    let addr = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).expect("serving line").to_owned();
    (child, addr)
}

/// An HTTP response as a test reads it.
pub struct Reply {
    pub status: u16,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP request to the host at `addr`, with ureq as `cohort` itself sends them (no
/// proxy, no TLS, statuses as they are), redirects not followed.
pub async fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let url = cohort::client::http::url(addr, path);
    let (method, headers, body) = (
        method.to_owned(),
        headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
        body.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build()
            .into();
        let mut request = ureq::http::Request::builder().method(method.as_str()).uri(&url);
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let mut response = agent.run(request.body(body).expect("a valid request")).expect("the host answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply { status, headers, body }
    })
    .await
    .expect("the request ran")
}
