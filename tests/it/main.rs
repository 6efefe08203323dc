//! Integration tests: one binary, so heavy dependencies (wasmtime, QuickJS, the WebRTC
//! stack) link once.
//! Each module drives the real `cohort` binary or library as a user would.

mod admin;
mod bots;
mod browser;
mod chat;
mod disk;
mod export;
mod games;
mod hidden_bots;
mod host;
mod ice;
mod kitchen;
#[cfg(all(feature = "webrtc", target_os = "linux"))]
mod latency;
mod matching;
mod plugin_check;
mod plugin_new;
mod plugins;
mod policies;
mod proxy;
mod reload;
mod restart;
mod reunion;
mod sandbox;
mod schemas;
mod simulate;
mod soak;
mod support;
mod surveys;
mod validate;
#[cfg(feature = "webrtc")]
mod webrtc;
