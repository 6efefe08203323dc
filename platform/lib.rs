//! cohort: a host for multiplayer online behavioural experiments.
//!
//! How the pieces fit (each is one module):
//!
//! ```text
//!  experiments/*.yaml ──► config ──(validated Experiment)──► cohort validate / serve
//!                          │  yaml → schema check → typed model → semantic checks
//!                          └─► schemas: generated JSON Schema for editors (schemas/)
//! ```
//!
//! Coming with the next issues: `server` (warp routes, one WebSocket per participant),
//! `experiment` (one actor per experiment owning waitroom, probes and games as pure
//! state machines), `matchmaking`, `probe`, `game`, `plugin` (wasmtime), `eventlog`,
//! `client` (Rust participant client).

pub mod bots;
pub mod client;
pub mod config;
pub mod eventlog;
pub mod experiment;
pub mod game;
pub mod matchmaking;
pub mod plugin;
pub mod probe;
pub mod protocol;

pub mod schemas;
pub mod server;
