//! The researcher's live page, `/admin`: a login that takes the admin token once and
//! keeps it in an HttpOnly, SameSite=Strict cookie (path `/admin`), and a page that
//! refreshes itself from `/admin/status.json` (data only) and draws its charts with
//! uPlot (vendored under `web/vendor`). The login refuses a cross-site POST (its `Origin` must be this host).

use warp::http::{Response, StatusCode};

/// The cookie that carries the admin token.
pub const COOKIE: &str = "cohort_admin";

/// The admin token in a `Cookie` header, if any.
pub fn from_cookie(header: Option<&str>) -> Option<&str> {
    header?.split(';').map(str::trim).find_map(|c| c.strip_prefix(COOKIE)?.strip_prefix('='))
}

fn html(status: StatusCode, body: String) -> Response<String> {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "same-origin")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
        .body(body)
        .expect("valid response")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1c2230;background:#f4f5f8}\
section{background:#fff;border-radius:10px;padding:1rem 1.4rem;margin:1rem 0;box-shadow:0 1px 3px #0002}\
table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #e3e6eb;text-align:left}\
.muted{color:#6b7280}.charts{display:flex;gap:1.5rem;flex-wrap:wrap}.chart.wide{flex-basis:100%}\
figure{margin:0}figcaption{font-weight:600;margin:.3rem 0}";

/// The page (the token was checked).
pub fn page() -> Response<String> {
    html(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cohort — admin</title>\
         <style>{STYLE}</style><link rel=\"stylesheet\" href=\"/static/vendor/uPlot.min.css\">\
         <script src=\"/static/vendor/uPlot.iife.min.js\"></script><script type=\"module\" src=\"/static/admin.js\"></script></head>\
         <body><h1>cohort — the study now</h1><p id=\"updated\" class=\"muted\">Loading…</p><p id=\"done\" role=\"status\"></p><div id=\"admin\"></div></body></html>"
        ),
    )
}

/// The login form (`failed`: the last token was wrong).
pub fn login_form(failed: bool) -> Response<String> {
    let error = if failed { "<p role=\"alert\">That is not the admin token.</p>" } else { "" };
    html(
        if failed { StatusCode::UNAUTHORIZED } else { StatusCode::OK },
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cohort — admin</title><style>{STYLE}</style></head>\
         <body><h1>cohort — admin</h1>{error}<form method=\"post\" action=\"/admin/login\">\
         <label>Admin token (printed by <code>cohort serve</code> at start) <input name=\"token\" type=\"password\" autocomplete=\"off\" required></label> \
         <button type=\"submit\">Open</button></form></body></html>"
        ),
    )
}

/// Whether a request comes from this host's own pages: the browser's
/// `Sec-Fetch-Site` when it sends one, else `Origin` against `Host` (a request with
/// neither is not a browser's cross-site form post).
pub fn same_origin(fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    if let Some(site) = fetch_site {
        return site == "same-origin";
    }
    match (origin, host) {
        (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
        (None, _) => true,
        _ => false,
    }
}

/// The answer to a login: the cookie and a redirect to the page, or the form again.
pub fn login(token: Option<&str>, given: Option<&str>, same_site: bool) -> Response<String> {
    if !same_site {
        return Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body("cross-site request refused".to_owned())
            .expect("valid");
    }
    let header = given.map(|g| format!("Bearer {g}"));
    if !super::metrics::authorized(token, header.as_deref()) {
        return login_form(true);
    }
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", "/admin")
        .header("set-cookie", format!("{COOKIE}={}; Path=/admin; HttpOnly; SameSite=Strict", given.unwrap_or_default()))
        .body(String::new())
        .expect("valid response")
}

/// Hands a checked intervention to the experiment's actor.
pub async fn act(handle: &crate::experiment::actor::ExperimentHandle, body: &[u8]) -> Response<String> {
    let reply =
        |status: StatusCode, text: String| Response::builder().status(status).body(text).expect("valid response");
    let action: crate::experiment::AdminAction = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => return reply(StatusCode::BAD_REQUEST, format!("not an action: {e}")),
    };
    if let Err(e) = action.check() {
        return reply(StatusCode::BAD_REQUEST, e);
    }
    let input = crate::experiment::Input::Admin(action);
    if handle.send(crate::experiment::actor::ActorMsg::Input(input)).await {
        reply(StatusCode::ACCEPTED, "accepted".to_owned())
    } else {
        reply(StatusCode::SERVICE_UNAVAILABLE, "the experiment has stopped".to_owned())
    }
}
