//! Game-module loading: any bytes as a game's module (and as a second file beside it
//! that the module may import as `./lib.js`) are checked as `cohort validate` checks
//! a game — loaded in the host's engine, exports read, two copies stepped and compared
//! — and give a game or an error, never a panic, a hang past the call deadline, or
//! memory past the engine's cap.
#![no_main]

use std::collections::BTreeMap;

use cohort::game::check::check_fresh;
use cohort::game::files::{GameFile, GameFolder};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn file(bytes: &[u8]) -> GameFile {
    GameFile {
        content_type: "text/javascript; charset=utf-8",
        bytes: bytes.into(),
        sha256: format!("{:x}", Sha256::digest(bytes)),
    }
}

fuzz_target!(|data: &[u8]| {
    // The module, then (after a NUL) the file it may import.
    let (main, lib) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let mut files = BTreeMap::new();
    files.insert("main.js".to_owned(), file(main));
    files.insert("lib.js".to_owned(), file(lib));
    let folder = GameFolder { dir: "/nonexistent-cohort-fuzz".into(), main: "main.js".to_owned(), files };
    let _ = check_fresh(&folder, &serde_json::json!({}), 2, 20, false);
});
