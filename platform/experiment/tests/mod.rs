//! State-machine tests without sockets, on the harness of [`super::testkit`].

mod blocks;
mod budget;
mod cells;
mod conditions;
mod dropout;
mod games;
mod props;
mod ready;
mod rtt;
mod scale;
mod screening;
mod surveys;
mod why;

pub use super::testkit::*;
