//! Real latency between two participants: each bot runs in a network namespace of its
//! own; the two namespaces are joined by a userspace delay wire between two TUN devices
//! (this kernel has no netem), while each also has an undelayed veth link to the root
//! namespace where the host runs. So only the peer-to-peer path carries the delay, and
//! the probe must measure it.
//!
//! Needs root, `ip` and `/dev/net/tun` (`.ci/run` installs iproute2). Without them the
//! test skips; under `CI=true` only the kernel refusing to create namespaces may skip,
//! and says so loudly. Namespaces are uniquely named and removed on exit, even on
//! failure.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cohort::client::Client;
use cohort::client::webrtc::Prober;
use cohort::eventlog::Event;
use cohort::protocol::{SceneView, ServerMsg};

use crate::support::TestHost;

/// `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Why this machine cannot run the test, if it cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".to_owned());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("`ip` is missing (apt install iproute2)".to_owned());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".to_owned());
    }
    None
}

/// Two namespaces, removed on drop.
struct Namespaces {
    names: [String; 2],
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Runs `f` on a thread that has entered namespace `ns`: sockets and TUN devices it
/// creates live there.
fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("namespace file");
        // SAFETY: a valid namespace fd; only this thread switches namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns failed: {}", std::io::Error::last_os_error());
        f()
    })
}

/// Opens a TUN device `name` in the calling thread's namespace.
fn open_tun(name: &str) -> std::io::Result<File> {
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    let file = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun")?;
    let mut req = IfReq { name: [0; 16], flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short, _pad: [0; 22] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: TUNSETIFF reads an ifreq, which `req` lays out.
    if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Copies packets from `from` to `to`, each `delay` after it was read.
fn delay_wire(mut from: File, mut to: File, delay: Duration, stop: Arc<AtomicBool>) {
    let queue = Arc::new(std::sync::Mutex::new(VecDeque::<(Instant, Vec<u8>)>::new()));
    let writer_queue = queue.clone();
    let writer_stop = stop.clone();
    std::thread::spawn(move || {
        while !writer_stop.load(Ordering::Relaxed) {
            let next = writer_queue.lock().expect("queue").front().map(|(at, _)| *at);
            match next {
                Some(at) if at <= Instant::now() => {
                    let (_, packet) = writer_queue.lock().expect("queue").pop_front().expect("front exists");
                    let _ = to.write(&packet);
                }
                Some(at) => std::thread::sleep(at - Instant::now()),
                None => std::thread::sleep(Duration::from_micros(200)),
            }
        }
    });
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            match from.read(&mut buf) {
                Ok(n) => queue.lock().expect("queue").push_back((Instant::now() + delay, buf[..n].to_vec())),
                Err(_) => break,
            }
        }
    });
}

/// Sets up both namespaces: veth links to the root namespace (10.78.N.1 ↔ 10.78.N.2)
/// and TUN devices 10.77.0.1 / 10.77.0.2 joined by a wire delaying each direction by
/// `one_way`.
fn network(tag: &str, one_way: Duration, stop: Arc<AtomicBool>) -> Result<Namespaces, String> {
    let pid = std::process::id();
    let names = [format!("cohort-{pid}-{tag}-a"), format!("cohort-{pid}-{tag}-b")];
    for name in &names {
        ip(&["netns", "add", name])?;
    }
    let nss = Namespaces { names: names.clone() };
    let mut tuns = Vec::new();
    for (i, ns) in names.iter().enumerate() {
        let n = i + 1;
        let (host_if, ns_if) = (format!("ch{pid}{tag}{n}"), format!("cn{pid}{tag}{n}"));
        let (host_if, ns_if) = (&host_if[..host_if.len().min(15)], &ns_if[..ns_if.len().min(15)]);
        ip(&["link", "add", host_if, "type", "veth", "peer", "name", ns_if])?;
        ip(&["link", "set", ns_if, "netns", ns])?;
        ip(&["addr", "add", &format!("10.78.{n}.1/24"), "dev", host_if])?;
        ip(&["link", "set", host_if, "up"])?;
        ip(&["-n", ns, "addr", "add", &format!("10.78.{n}.2/24"), "dev", ns_if])?;
        ip(&["-n", ns, "link", "set", ns_if, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        let tun = in_namespace(ns, || open_tun("cohortwire")).join().map_err(|_| "tun thread".to_owned())?;
        tuns.push(tun.map_err(|e| format!("TUN device: {e}"))?);
        ip(&["-n", ns, "addr", "add", &format!("10.77.0.{n}/24"), "dev", "cohortwire"])?;
        ip(&["-n", ns, "link", "set", "cohortwire", "up"])?;
    }
    let b = tuns.pop().expect("two tuns");
    let a = tuns.pop().expect("two tuns");
    let (a2, b2) = (a.try_clone().map_err(|e| e.to_string())?, b.try_clone().map_err(|e| e.to_string())?);
    delay_wire(a, b2, one_way, stop.clone());
    delay_wire(b, a2, one_way, stop);
    Ok(nss)
}

/// A bot inside namespace `ns` (participant `n`): connects to the host over its veth
/// link, probes over the TUN wire only, and reports how its part ended.
fn bot_in(
    ns: &str,
    n: u8,
    port: u16,
    experiment: &'static str,
    who: String,
) -> std::thread::JoinHandle<Result<String, String>> {
    in_namespace(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let host = format!("10.78.{n}.1:{port}");
            let mut c =
                Client::connect(&host, experiment, &[("PROLIFIC_PID", &who)], None).await.map_err(|e| e.to_string())?;
            let (_, scene) = c.next_scene().await.map_err(|e| e.to_string())?;
            assert!(matches!(scene, SceneView::Multiplayer { .. }));
            let mut prober = Prober::new(vec![IpAddr::V4(Ipv4Addr::new(10, 77, 0, n))]);
            let ended = c
                .wait_probing(&mut prober, "start or abort", Duration::from_secs(30), |m| match m {
                    ServerMsg::StartGame { .. } => Some("started".to_owned()),
                    ServerMsg::ProbeAbort { reason, .. } => Some(reason.clone()),
                    _ => None,
                })
                .await
                .map_err(|e| e.to_string())?;
            // Let the peer finish its own pings before this side goes away.
            let _ = tokio::time::timeout(Duration::from_secs(2), prober.drive()).await;
            Ok(ended)
        })
    })
}

async fn probe_across(one_way_ms: u64, tag: &str) -> Option<(Option<f64>, String, [String; 2])> {
    let stop = Arc::new(AtomicBool::new(false));
    let nss = match network(tag, Duration::from_millis(one_way_ms), stop.clone()) {
        Ok(nss) => nss,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true") || why.contains("netns add"),
                "the latency test cannot set up its network under CI: {why}"
            );
            eprintln!("\n!!!!! SKIPPED latency test: the kernel refused the namespace setup: {why} !!!!!\n");
            return None;
        }
    };
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start_on("0.0.0.0:0", &["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let port: u16 = host.addr.rsplit(':').next().unwrap().parse().unwrap();
    let a = bot_in(&nss.names[0], 1, port, "probed", format!("ns-a-{tag}"));
    let b = bot_in(&nss.names[1], 2, port, "probed", format!("ns-b-{tag}"));
    let ends = tokio::task::spawn_blocking(move || [a.join().expect("bot a"), b.join().expect("bot b")]).await.unwrap();
    let ends = ends.map(|r| r.unwrap_or_else(|e| panic!("bot failed: {e}")));
    let probe = host.events("probed").into_iter().find_map(|e| match e {
        Event::ProbeFinished { rtt_ms, outcome, .. } => Some((rtt_ms, outcome)),
        _ => None,
    });
    host.stop().await;
    stop.store(true, Ordering::Relaxed);
    drop(nss);
    let (rtt, outcome) = probe.expect("the probe was recorded");
    Some((rtt, outcome, ends))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_latency_is_measured_and_decides_the_match() {
    if let Some(why) = unavailable() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the latency test cannot run under CI: {why}");
        eprintln!("SKIPPED latency test: {why}");
        return;
    }
    // 20 ms each way: 40 ms round trip, under the 80 ms threshold.
    let Some((rtt, outcome, ends)) = probe_across(20, "near").await else { return };
    let rtt = rtt.expect("an RTT was measured");
    eprintln!("20+20 ms injected: measured {rtt:.1} ms");
    assert!((40.0..=46.0).contains(&rtt), "measured {rtt} ms for 40 ms injected");
    assert_eq!(outcome, "accepted");
    assert_eq!(ends, ["started", "started"]);
    // 50 ms each way: 100 ms round trip, above it.
    let Some((rtt, outcome, ends)) = probe_across(50, "far").await else { return };
    let rtt = rtt.expect("an RTT was measured");
    eprintln!("50+50 ms injected: measured {rtt:.1} ms");
    assert!((100.0..=106.0).contains(&rtt), "measured {rtt} ms for 100 ms injected");
    assert_eq!(outcome, "rejected");
    assert_eq!(ends, ["rejected", "rejected"]);
}
