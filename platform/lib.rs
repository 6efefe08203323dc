//! cohort: a host for multiplayer online behavioural experiments.
//!
//! How the pieces fit (each is one module):
//!
//! ```text
//!  experiments/*.yaml ─► config ─(validated Experiment)─► cohort validate / serve / bots
//!                         │  yaml → schema check → typed model → semantic checks
//!                         │  (config::texts: the participant texts, their languages;
//!                         │  config::by_condition: scene texts and show_if by entry
//!                         │  condition; config::pay: base pay per outcome)
//!                         │    ├─ game::files (the module's folder) + game::check (loads
//!                         │    │  it in game::engine, QuickJS: exports, two copies agree)
//!                         │    └─ each policy loaded and configured (plugin)
//!                         └─► schemas: generated JSON Schemas for editors (schemas/)
//!
//!  browser (web/) or client (Rust; bots)
//!      │ WebSocket, JSON messages (protocol)
//!      ▼
//!  server::accept   own accept loop: TCP_NODELAY, HTTP/1.1 (hyper), peer address
//!      ├─► warp routes: page, static files, game folders, /healthz, /admin/status.json
//!      │     and /metrics (server::metrics, reading experiment::stats)
//!      └─► server::upgrade  /x/<id>/ws: admission (peer, headers; client_addr behind
//!            │               trusted proxies), connection cap, handshake
//!            └─► server::socket  one task per socket (server::frames: parse, limits,
//!                                pongs), heartbeats, batched writes
//!                  │ (ConnId, Input) over a bounded channel
//!                  ▼
//!  experiment::actor   one thread per experiment, owns the pure State:
//!      State::handle(input, now) -> effects     (experiment::state and friends)
//!        model (inputs, effects, places) · sessions · flow · route (blocks:
//!        each participant's order of scenes, iterations) · answers · waitroom
//!        matching · probing (and `relax`) · known_rtts (pairs' RTTs, across
//!        scenes) · games ·
//!        game_inputs (lockstep inputs, relay, hashes, visibility; the inputs of
//!        seats the host plays) · host_bots (shell side: the host's own copy of a game,
//!        a thread each, playing bot seats for players not told about bots) · conditions
//!        (entry and group conditions, balanced by completions; groups within a
//!        condition partition the room) · pay ({pay}, {bonus}) · screening
//!        (browser, device, WebRTC and round-trip rules; the monitor) · ready (the
//!        ready-check before a game) · reunion (earlier groups, followed in another
//!        experiment's logs, together again) · timers (deadline
//!        heap, compacted) · rooms · budget (log budgets) ·
//!        recovery (sessions of earlier runs, at start) · why (the last decisions
//!        about each waiting participant) · admin (interventions, replace_policy)
//!        ├─ matchmaking: Matchmaker trait, FIFO (and composed FIFO), answer
//!        │    validation
//!        │    └─ plugin: sandboxed WebAssembly policies (wasmtime): plugin::worker
//!        │       (a thread per instance), plugin::sandbox (one memory cap, virtual
//!        │       WASI: decision clock, seeded randomness, output as log lines), work
//!        │       counted per call (fuel) for the pass budget; plugin::check
//!        │       (`plugin check`), plugin::template (`plugin new`)
//!        ├─ probe: probe state machine, ICE servers, TURN credentials
//!        └─ game: the game record and game::lockstep (every input, hash comparison)
//!      testkit (feature `testkit`): the harness and random input sequences with the
//!      invariants, shared by the property tests and the fuzz target `state` (fuzz/)
//!      shell around it: outbox, disk (space guard, served-file copies), stats (the
//!      live snapshot: counts as events are logged, places once a second; history:
//!      per-minute counts of the last six hours for /admin's charts), reload
//!      (policy files loaded at start, and again off-thread on reload_policy/SIGHUP)
//!      effects ─► experiment::outbox: group-committed event log (eventlog: file, read),
//!                 then messages to each socket, in order
//!
//!  Games run in the pages (web/lockstep.js steps the module over the probe's channel
//!  or the relay, and opens a closed channel again); the host keeps their inputs. game::replay recomputes a game from
//!  a run's log with game::engine (`cohort replay`).
//!
//!  eventlog::about: whom and what each event concerns, read from its type (the
//!  export's pilot rule, --pseudonymize and `cohort forget` ask it, never key names).
//!
//!  export: a data directory's event logs as CSV tables (`cohort export`);
//!  export::pay the payments table (base pay per outcome, bonus, times).
//!  report: the study's charts from those tables (`cohort report`: a self-contained
//!  page, SVG files); chart: a chart as data, drawn to SVG with plotters (report and
//!  simulate's page share it).
//!
//!  simulate: the same State and policy driven by a virtual clock and synthetic
//!  participants (simulate::scenario: arrivals, attributes, dropout, RTTs;
//!  simulate::replay: a real run's arrivals) → simulate::report (text, JSON, HTML).
//!
//!  bots: N Rust clients walking an experiment (load tests, dry runs; bots::bot one
//!  bot, bot::react its answer to each message; bots::answers: consent, instructions
//!  and surveys), playing games
//!  with bots::player (the module in game::engine, over the relay or the probe's
//!  channel), misbehaving on
//!  request with bots::churn (leave, drop and return, ignore probes, abandon: the
//!  soak); client::webrtc is a real WebRTC peer (feature `webrtc`;
//!  webrtc::conn one connection, webrtc::probe one probe, webrtc::game a game's
//!  channels).
//!
//!  mix: one SplitMix64 for everything random-looking yet repeatable.
//! ```

pub mod bots;
pub mod chart;
pub mod client;
pub mod config;
pub mod eventlog;
pub mod experiment;
pub mod export;
pub mod game;
pub mod matchmaking;
pub mod mix;
pub mod plugin;
pub mod probe;
pub mod protocol;
pub mod report;

pub mod schemas;
pub mod server;
pub mod simulate;
