//! The host's process and listening socket: a listen backlog deep enough for a
//! study's launch burst, and an open-file limit that fits its participants.

/// Binds `addr` with a listen backlog deep enough for a study's launch burst.
pub async fn listen(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(4096)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address to listen on")))
}

/// Raises the soft limit on open files to the hard limit: every participant holds a
/// socket. Returns the limit now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, not on every unix
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur as u64;
            }
        }
    }
    lim.rlim_cur as u64
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> u64 {
    0
}

/// Stops the host on SIGINT or SIGTERM: the first signal starts a drain (when
/// `drain` is given: arrivals close and games in progress finish), a second one — or
/// the first, without a drain — stops at once.
pub async fn stop_on_signals(
    drain: Option<tokio_util::sync::CancellationToken>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if let Some(drain) = drain {
        signal().await;
        tracing::info!("draining: arrivals closed, games in progress finish (a second signal stops at once)");
        drain.cancel();
    }
    signal().await;
    tracing::info!("shutting down: telling participants and syncing the data");
    shutdown.cancel();
}

/// The next SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// On each SIGHUP, asks every experiment to load its policy files again
/// (`reload_policy`).
pub async fn reload_on_sighup(
    experiments: Vec<crate::experiment::actor::ExperimentHandle>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                got = hup.recv() => if got.is_none() { return },
            }
            tracing::info!("SIGHUP: reloading the policies");
            for handle in &experiments {
                let reload = crate::experiment::Input::Admin(crate::experiment::AdminAction::ReloadPolicy);
                handle.send(crate::experiment::actor::ActorMsg::Input(reload)).await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (experiments, shutdown);
    }
}
