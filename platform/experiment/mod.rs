//! The per-experiment actor: one thread per experiment owning its pure state machine.
//!
//! [`State`] is the pure state machine: `handle(input, now) -> effects`, no sockets,
//! no clock reads, randomness only from the seeded RNG it owns. [`actor`] is the shell
//! that feeds it socket messages and timer ticks and carries out its effects through
//! the [`outbox`] (event log first, then the messages that depend on it).

pub mod actor;
pub mod admin;
mod answers;
mod budget;
mod chat;
mod conditions;
mod disk;
mod dropout;
mod flow;
mod game_inputs;
mod games;
pub mod history;
pub mod host_bots;
mod known_rtts;
mod matching;
mod model;
pub mod outbox;
mod pay;
mod piped;
mod probing;
mod ready;
pub mod recovery;
pub mod reload;
pub mod reunion;
mod rooms;
pub mod route;
mod screening;
mod sessions;
mod state;
pub mod stats;
mod survey;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
#[cfg(test)]
mod tests;
mod timers;
pub mod view;
pub(crate) mod waitroom;
pub mod why;

pub use admin::AdminAction;
pub use state::{Arrivals, ConnId, Effect, IceProvider, Input, Place, State};
