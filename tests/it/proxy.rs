//! Behind a real reverse proxy: Debian's nginx, started by the test on loopback in
//! front of the host. Participants from many addresses arriving at once through it are
//! all admitted when the proxy is trusted; without `--trusted-proxy` they share one
//! budget; a client that is not a trusted proxy cannot escape its limit by sending
//! `X-Forwarded-For` itself. Skips when nginx is missing, except under `CI=true`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cohort::client::{Client, ClientError};
use cohort::server::client_addr::Cidr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestHost;

/// nginx on 127.0.0.1:<port> proxying to `upstream`; stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: &str) -> Option<Self> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|p| p.exists());
        let Some(binary) = binary else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "nginx is missing under CI (apt install nginx-light)"
            );
            eprintln!("SKIPPED proxy test: nginx is missing (apt install nginx-light)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = config(dir.path(), port, upstream);
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        Some(Self { child, port, _dir: dir })
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until nginx answers (it forwards `/healthz`).
    async fn ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(self.addr()).await {
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await;
                let mut out = String::new();
                let _ = s.read_to_string(&mut out).await;
                if out.ends_with("ok") {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "nginx did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The WebSocket part of the configuration `docs/deploy.md` recommends, on loopback.
fn config(dir: &Path, port: u16, upstream: &str) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#
    )
}

/// `n` participants, each from its own 127.0.x.y address, connecting through `via`
/// at once; how many were admitted and how many refused with 429.
async fn arrive_at_once(via: &str, n: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let via = via.to_owned();
            let from: IpAddr = format!("127.0.{}.{}", 10 + i / 200, i % 200 + 2).parse().unwrap();
            tokio::spawn(async move {
                let id = format!("p{i}");
                Client::connect_from(&via, "flow", &[("PROLIFIC_PID", id.as_str())], None, Some(from)).await
            })
        })
        .collect();
    let (mut admitted, mut refused) = (0, 0);
    let mut clients = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                admitted += 1;
                clients.push(c);
            }
            Err(ClientError::Connect { source, .. }) if source.to_string().contains("429") => refused += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    (admitted, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_trusted_nginx_150_participants_arriving_at_once_are_all_admitted() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |o| {
        o.admission.trusted_proxies = vec!["127.0.0.1/32".parse::<Cidr>().unwrap()];
    })
    .await;
    let Some(nginx) = Nginx::start(&host.addr) else { return };
    nginx.ready().await;
    assert_eq!(arrive_at_once(&nginx.addr(), 150).await, (150, 0));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_untrusted_nginx_everyone_shares_the_proxys_budget() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let Some(nginx) = Nginx::start(&host.addr) else { return };
    nginx.ready().await;
    let (admitted, refused) = arrive_at_once(&nginx.addr(), 70).await;
    assert_eq!((admitted, refused), (60, 10), "one budget of 60 for the proxy's address");
    host.stop().await;
}

/// Opens a raw upgrade to `addr` with `X-Forwarded-For: <xff>`; the status code.
async fn upgrade_status(addr: &str, xff: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /x/flow/ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-For: {xff}\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_is_not_a_trusted_proxy_cannot_escape_its_limit_with_x_forwarded_for() {
    let data = tempfile::tempdir().unwrap();
    // Only 10.9.9.9 is trusted: the test's own connections (127.0.0.1) are clients.
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |o| {
        o.admission.trusted_proxies = vec!["10.9.9.9".parse::<Cidr>().unwrap()];
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..61 {
        statuses.push(upgrade_status(&host.addr, &format!("198.51.100.{i}")).await);
    }
    assert!(statuses[..60].iter().all(|s| *s == 101), "{statuses:?}");
    assert_eq!(statuses[60], 429, "a spoofed header does not open a new budget");
    host.stop().await;
}
