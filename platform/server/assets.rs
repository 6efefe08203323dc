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
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, ct, body)| (*ct, *body))
}

/// The page of an experiment that could not start (the cause is in the host's log,
/// `/healthz` and `/admin`, never shown to participants).
pub const UNAVAILABLE_HTML: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Study unavailable</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><h1>This study is not available right now</h1><p>Nothing was recorded. Please return it on the recruitment site, or try again later.</p></main></body></html>";
