//! The browser client's files (plain ES modules under `platform/web`, no build step),
//! compiled into the binary so that `cohort` is one file to deploy.

/// (name, content type, body) of every file served under `/static/`.
const FILES: &[(&str, &str, &str)] = &[
    ("admin.js", "text/javascript; charset=utf-8", include_str!("../web/admin.js")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../web/app.js")),
    ("chat.js", "text/javascript; charset=utf-8", include_str!("../web/chat.js")),
    ("connection.js", "text/javascript; charset=utf-8", include_str!("../web/connection.js")),
    ("probe.js", "text/javascript; charset=utf-8", include_str!("../web/probe.js")),
    ("environment.js", "text/javascript; charset=utf-8", include_str!("../web/environment.js")),
    ("i18n.js", "text/javascript; charset=utf-8", include_str!("../web/i18n.js")),
    ("hash.js", "text/javascript; charset=utf-8", include_str!("../web/hash.js")),
    ("lockstep.js", "text/javascript; charset=utf-8", include_str!("../web/lockstep.js")),
    ("ready.js", "text/javascript; charset=utf-8", include_str!("../web/ready.js")),
    ("rules.js", "text/javascript; charset=utf-8", include_str!("../web/rules.js")),
    ("scenes.js", "text/javascript; charset=utf-8", include_str!("../web/scenes.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../web/style.css")),
    // The admin page's chart library (web/vendor/README.md).
    ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", include_str!("../web/vendor/uPlot.iife.min.js")),
    ("vendor/uPlot.min.css", "text/css; charset=utf-8", include_str!("../web/vendor/uPlot.min.css")),
];

/// The participant page (the same for every experiment; the client reads the
/// experiment id from the URL path).
pub const INDEX_HTML: &str = include_str!("../web/index.html");

/// A static file by name.
pub fn file(name: &str) -> Option<(&'static str, &'static str)> {
    if name == "constants.js" {
        return Some(("text/javascript; charset=utf-8", constants_js()));
    }
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, ct, body)| (*ct, *body))
}

/// The protocol's and the lockstep's numbers as the pages import them, made from the
/// constants the host and the bots use: one definition, never a copy by hand.
pub fn constants_js() -> &'static str {
    use crate::game::lockstep as l;
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let values: [(&str, String); 6] = [
            ("PROTOCOL", crate::protocol::PROTOCOL_VERSION.to_string()),
            ("HASH_EVERY", l::HASH_EVERY.to_string()),
            ("MAX_INPUT_BYTES", l::MAX_INPUT_BYTES.to_string()),
            ("MAX_BATCH", l::MAX_BATCH.to_string()),
            ("REOPEN_MS", l::REOPEN_MS.to_string()),
            ("REOPEN_TRIES", l::REOPEN_TRIES.to_string()),
        ];
        let mut out =
            String::from("// Made by the host from its own constants (platform/game/lockstep.rs, protocol).\n");
        for (name, value) in values {
            out.push_str(&format!("export const {name} = {value};\n"));
        }
        out
    })
}

/// The page of an experiment that could not start (the cause is in the host's log,
/// `/healthz` and `/admin`, never shown to participants).
pub const UNAVAILABLE_HTML: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Study unavailable</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><h1>This study is not available right now</h1><p>Nothing was recorded. Please return it on the recruitment site, or try again later.</p></main></body></html>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_import_only_served_files_and_copy_no_constant_the_host_makes() {
        let constants = constants_js();
        let names: Vec<&str> =
            constants.lines().filter_map(|l| l.strip_prefix("export const ")?.split(' ').next()).collect();
        assert_eq!(names, ["PROTOCOL", "HASH_EVERY", "MAX_INPUT_BYTES", "MAX_BATCH", "REOPEN_MS", "REOPEN_TRIES"]);
        assert!(constants.contains(&format!("PROTOCOL = {};", crate::protocol::PROTOCOL_VERSION)));
        for (file, _, body) in FILES.iter().filter(|(n, _, _)| n.ends_with(".js")) {
            for name in &names {
                assert!(!body.contains(&format!("const {name} =")), "{file} defines {name} again");
            }
            // Every `./x.js` a page imports is served.
            for part in body.split("from \"./").skip(1) {
                let target = part.split('"').next().unwrap_or_default();
                assert!(file_exists(target), "{file} imports {target}, which is not served");
            }
        }
    }

    fn file_exists(name: &str) -> bool {
        file(name).is_some()
    }
}
