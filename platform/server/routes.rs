//! The host's HTTP routes besides the WebSocket endpoint: the participant page (or
//! the page of an experiment that could not start), static files, game folders,
//! `/healthz`, and the admin pages and API with `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use warp::Filter;
use warp::http::{Response, StatusCode};

use super::{admin, assets, metrics};
use crate::experiment::actor::ExperimentHandle;

pub(super) type Experiments = Arc<HashMap<String, ExperimentHandle>>;
/// Game folders by experiment id, then scene id.
pub(super) type GameFolders = Arc<HashMap<String, HashMap<String, Arc<crate::game::files::GameFolder>>>>;

pub(super) fn routes(
    experiments: Experiments,
    games: GameFolders,
    scripts: Arc<BTreeMap<String, String>>,
    unavailable: Arc<BTreeMap<String, String>>,
    (admin_token, metrics_public): (Option<String>, bool),
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static {
    let logs = experiments.clone();
    let down = unavailable.clone();
    let watched = experiments.clone();
    let health = warp::path!("healthz").and(warp::get()).map(move || {
        // Not ok while an experiment's event log cannot be written (input is refused
        // and the write retried until it succeeds).
        let mut failing: Vec<String> = logs
            .values()
            .filter_map(|h| {
                let e = h.log_health.error().filter(|_| h.log_health.failing())?;
                Some(format!("{}: event log cannot be written, retrying: {e}", h.id))
            })
            .collect();
        failing.extend(down.iter().map(|(id, cause)| format!("{id}: unavailable: {cause}")));
        if failing.is_empty() {
            boxed("ok")
        } else {
            let body = failing.join("\n");
            boxed(warp::reply::with_status(body, StatusCode::SERVICE_UNAVAILABLE))
        }
    });
    let closed = unavailable.clone();
    let texts = warp::path!("x" / String / "texts.js").and(warp::get()).map(move |id: String| {
        boxed(match scripts.get(&id) {
            Some(body) => Response::builder()
                .header("content-type", "text/javascript; charset=utf-8")
                .header("cache-control", "no-cache")
                .header("x-content-type-options", "nosniff")
                .body(body.clone())
                .expect("valid response"),
            None => not_found(),
        })
    });
    let page = warp::path!("x" / String).and(warp::get()).map(move |id: String| {
        boxed(if experiments.contains_key(&id) {
            html(assets::INDEX_HTML)
        } else if closed.contains_key(&id) {
            // The cause is for the researcher (logs, /healthz, /admin), not participants.
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header("content-type", "text/html; charset=utf-8")
                .body(assets::UNAVAILABLE_HTML.to_owned())
                .expect("valid response")
        } else {
            not_found()
        })
    });
    let files = warp::path("static").and(warp::path::tail()).and(warp::get()).map(|name: warp::path::Tail| {
        boxed(match assets::file(name.as_str()) {
            Some((content_type, body)) => Response::builder()
                .header("content-type", content_type)
                .header("cache-control", "no-cache")
                .header("x-content-type-options", "nosniff")
                .body(body.to_owned())
                .expect("valid response"),
            None => not_found(),
        })
    });
    let game_files = warp::path!("x" / String / "game" / String / ..).and(warp::path::tail()).and(warp::get()).map(
        move |id: String, scene: String, rel: warp::path::Tail| {
            let file = games.get(&id).and_then(|g| g.get(&scene)).and_then(|f| f.get(rel.as_str()));
            boxed(match file {
                Some(file) => Response::builder()
                    .header("content-type", file.content_type)
                    .header("cache-control", "no-cache")
                    .header("etag", format!("\"{}\"", &file.sha256[..16]))
                    .header("x-content-type-options", "nosniff")
                    .body(file.bytes.to_vec())
                    .expect("valid response"),
                None => Response::builder().status(StatusCode::NOT_FOUND).body(b"not found".to_vec()).expect("valid"),
            })
        },
    );
    let token = Arc::new(admin_token);
    let auth = warp::header::optional::<String>("authorization");
    let cookie = warp::header::optional::<String>("cookie");
    let status = warp::path!("admin" / "status.json").and(warp::get()).and(auth).and(cookie).map({
        let (watched, token) = (watched.clone(), token.clone());
        move |header: Option<String>, cookie: Option<String>| {
            let from_cookie = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
            let header = header.or(from_cookie);
            if !metrics::authorized(token.as_deref(), header.as_deref()) {
                return boxed(metrics::unauthorized());
            }
            let all: Vec<&ExperimentHandle> = watched.values().collect();
            boxed(
                Response::builder()
                    .header("content-type", "application/json")
                    .header("cache-control", "no-store")
                    .body(metrics::status(&all, &unavailable))
                    .expect("valid response"),
            )
        }
    });
    let prometheus = warp::path!("metrics").and(warp::get()).and(auth).map({
        let (token, watched) = (token.clone(), watched.clone());
        move |header: Option<String>| {
            if !metrics_public && !metrics::authorized(token.as_deref(), header.as_deref()) {
                return boxed(metrics::unauthorized());
            }
            let all: Vec<&ExperimentHandle> = watched.values().collect();
            boxed(
                Response::builder()
                    .header("content-type", "text/plain; version=0.0.4")
                    .header("cache-control", "no-store")
                    .body(metrics::prometheus(&all))
                    .expect("valid response"),
            )
        }
    });
    let admin_page = warp::path!("admin").and(warp::get()).and(cookie).map({
        let token = token.clone();
        move |cookie: Option<String>| {
            let given = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
            boxed(if metrics::authorized(token.as_deref(), given.as_deref()) {
                admin::page()
            } else {
                admin::login_form(false)
            })
        }
    });
    let login = warp::path!("admin" / "login")
        .and(warp::post())
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .map({
            let token = token.clone();
            move |form: HashMap<String, String>, site: Option<String>, origin: Option<String>, host: Option<String>| {
                let given = form.get("token").map(String::as_str);
                let same = admin::same_origin(site.as_deref(), origin.as_deref(), host.as_deref());
                boxed(admin::login(token.as_deref(), given, same))
            }
        });
    // Interventions: a bearer token, or the page's cookie from this host's own page.
    let act = warp::path!("admin" / "api" / String)
        .and(warp::post())
        .and(warp::body::content_length_limit(8192))
        .and(warp::body::bytes())
        .and(auth)
        .and(cookie)
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .then({
            let (token, watched) = (token.clone(), watched.clone());
            move |id: String,
                  body: warp::hyper::body::Bytes,
                  header: Option<String>,
                  cookie: Option<String>,
                  site: Option<String>,
                  origin: Option<String>,
                  host: Option<String>| {
                let (token, watched) = (token.clone(), watched.clone());
                async move {
                    let by_cookie = admin::from_cookie(cookie.as_deref()).map(|t| format!("Bearer {t}"));
                    let cross_site =
                        header.is_none() && !admin::same_origin(site.as_deref(), origin.as_deref(), host.as_deref());
                    if cross_site {
                        return boxed(
                            Response::builder()
                                .status(StatusCode::FORBIDDEN)
                                .body("cross-site request refused".to_owned())
                                .expect("valid"),
                        );
                    }
                    if !metrics::authorized(token.as_deref(), header.or(by_cookie).as_deref()) {
                        return boxed(metrics::unauthorized());
                    }
                    let Some(handle) = watched.get(&id) else { return boxed(not_found()) };
                    boxed(admin::act(handle, &body).await)
                }
            }
        });
    let root = warp::path::end()
        .and(warp::get())
        .map(|| boxed("cohort is running. Participants use the link of their study."));
    health
        .or(page)
        .unify()
        .or(texts)
        .unify()
        .or(game_files)
        .unify()
        .or(status)
        .unify()
        .or(admin_page)
        .unify()
        .or(login)
        .unify()
        .or(act)
        .unify()
        .or(prometheus)
        .unify()
        .or(files)
        .unify()
        .or(root)
        .unify()
        .recover(|_| async { Ok::<_, std::convert::Infallible>(boxed(not_found())) })
        .unify()
}

/// The participant page, with headers that keep the recruitment id in the URL from
/// leaking (no referrer) and confine scripts to our own files.
fn html(body: &str) -> Response<String> {
    Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header(
            "content-security-policy",
            "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'none'",
        )
        .body(body.to_owned())
        .expect("valid response")
}

fn not_found() -> Response<String> {
    Response::builder().status(StatusCode::NOT_FOUND).body("not found".to_owned()).expect("valid response")
}

fn boxed(reply: impl warp::Reply + 'static) -> Box<dyn warp::Reply> {
    Box::new(reply)
}
