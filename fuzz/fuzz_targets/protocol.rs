//! Protocol decoding: any bytes a participant's socket (or the admin API) may send.
//! Decoding never panics, and what decodes encodes and decodes back to the same.
#![no_main]

use cohort::experiment::AdminAction;
use cohort::protocol::ClientMsg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = serde_json::from_slice::<ClientMsg>(data) {
        let text = serde_json::to_string(&msg).expect("a decoded message encodes");
        let again: ClientMsg = serde_json::from_str(&text).expect("an encoded message decodes");
        assert_eq!(text, serde_json::to_string(&again).expect("encodes"), "the round trip is stable");
    }
    if let Ok(action) = serde_json::from_slice::<AdminAction>(data) {
        let _ = action.check();
    }
});
