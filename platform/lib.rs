//! cohort: a host for multiplayer online behavioural experiments. How it is built, and
//! why: `docs/architecture.md`. The modules, and the way of the data:
//!
//! ```text
//!  experiments/*.yaml ─► config (yaml → schema → model → semantic checks) ─► Experiment
//!                         (show_if: display logic, decided by the host and the page)
//!                         schemas: JSON Schemas for editors, generated from the model
//!
//!  browser (web/: app, scenes, rules, chat, probe, lockstep.js; admin.js + uPlot)
//!      │ WebSocket, JSON (protocol)
//!  server: accept (hyper) · routes (warp: pages, files, /healthz, /admin, /metrics)
//!          · upgrade (admission) · socket (one task per socket; frames: limits)
//!      │ (ConnId, Input), bounded channel
//!  experiment::actor — a thread per experiment, owning the pure
//!      State::handle(input, now) -> effects    (experiment::state and its parts:
//!        sessions, flow, route, survey, answers, piped, waitroom, matching,
//!        probing, known_rtts, games, game_inputs, chat, conditions, pay, screening,
//!        ready, reunion, timers, rooms, budget, recovery, why, admin, view)
//!        ├─ matchmaking (Matchmaker, FIFO) ─ plugin (wasmtime sandbox, a thread each)
//!        ├─ probe (probe machine, ICE/TURN)      └─ game (record, lockstep, engine)
//!      shell: outbox (log, fsync, then deliver) · stats + history (/admin, /metrics)
//!             · reload (policies off-thread) · host_bots (the host's game copies)
//!      effects ─► eventlog (file, read, about: whom each event concerns)
//!
//!  tools on the same parts: bots + client (Rust participants, `webrtc` peer),
//!  simulate (State on a virtual clock), export (CSV tables; pay), report + chart
//!  (plotters), game::replay, mix (SplitMix64), testkit (property tests, fuzz)
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
