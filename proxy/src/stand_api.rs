//! `/api/stand/…`: the stand's own history, audit trail and CSV export, read
//! from the store. A tablet shows its token in `Authorization` (never in the
//! URL, which logs keep); a stand without a PIN is open, like its board.

use hyper::body::Incoming;
use hyper::{header, Method, Request, StatusCode};
use serde::Serialize;
use shared::stand::{StandPage, OUTCOMES};

use crate::auth;
use crate::http::{Connection, Site};
use crate::routes::{json, refuse_foreign, set, text, token, Reply};
use crate::store::query::{ActivityQuery, ExportError, PartyQuery, MAX_ROWS};
use crate::store::Store;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// What "tonight" covers for the end-of-night summary.
const NIGHT_MS: i64 = 12 * 3600 * 1000;
/// What the lobby screen calls: pagers paged in the last few minutes.
const CALLING_MS: i64 = 5 * 60 * 1000;

/// Answers a GET under `/api/stand/`.
pub async fn answer(request: &Request<Incoming>, site: &Site) -> Reply {
    let signed_in = site
        .access
        .lock()
        .expect("access lock")
        .admit(token(request), auth::now_ms())
        .is_some();
    if !signed_in {
        return problem(
            StatusCode::UNAUTHORIZED,
            "sign_in",
            "Sign in with the venue PIN first.",
        );
    }
    let params = match Params::parse(request.uri().query().unwrap_or("")) {
        Ok(params) => params,
        Err(message) => return problem(StatusCode::BAD_REQUEST, "bad_parameter", &message),
    };
    let path = request.uri().path().to_string();
    // The quote counts the parties waiting now; the night's end, those on the board.
    let board = match path.as_str() {
        "/api/stand/quote" | "/api/stand/night" => site.tablets.hub.state().await,
        _ => None,
    };
    let waiting = board.as_ref().map_or(0, |b| {
        b.parties
            .iter()
            .filter(|p| p.session.notified.is_none())
            .count() as u32
    });
    let on_board = board.map_or(0, |b| b.parties.len());
    let store = site.store.clone();
    let status = store.status().borrow().clone();
    let work = move || -> Result<Reply, String> {
        match path.as_str() {
            "/api/stand/analytics" => {
                let figures = store
                    .analytics(params.from_ms, params.to_ms, params.tz_offset_min)
                    .map_err(|e| unreadable(&store, e))?;
                Ok(json(
                    StatusCode::OK,
                    serde_json::to_value(figures).map_err(|e| e.to_string())?,
                ))
            }
            "/api/stand/quote" => {
                let Some(size) = params.size else {
                    return Ok(problem(
                        StatusCode::BAD_REQUEST,
                        "bad_parameter",
                        "size is missing",
                    ));
                };
                let quote = store
                    .quote(size, waiting, auth::now_ms(), params.tz_offset_min)
                    .map_err(|e| unreadable(&store, e))?;
                Ok(json(
                    StatusCode::OK,
                    serde_json::to_value(quote).map_err(|e| e.to_string())?,
                ))
            }
            "/api/stand/night" => {
                let now = auth::now_ms();
                let figures = store
                    .analytics(now - NIGHT_MS, now, params.tz_offset_min)
                    .map_err(|e| unreadable(&store, e))?;
                let night = serde_json::json!({ "analytics": figures, "on_board": on_board });
                Ok(json(StatusCode::OK, night))
            }
            "/api/stand/parties" => {
                let rows = store
                    .parties(&PartyQuery {
                        from_ms: params.from_ms,
                        to_ms: params.to_ms,
                        text: params.q,
                        limit: params.limit,
                    })
                    .map_err(|e| unreadable(&store, e))?;
                page(&store, rows, status)
            }
            "/api/stand/activity" => {
                let query = ActivityQuery {
                    from_ms: params.from_ms,
                    to_ms: params.to_ms,
                    tablet: params.tablet,
                    outcome: params.outcome,
                    limit: params.limit,
                };
                let rows = store.activity(&query).map_err(|e| unreadable(&store, e))?;
                page(&store, rows, status)
            }
            "/api/stand/export.csv" => {
                let mut body = Vec::new();
                let kind = params.kind.as_deref().unwrap_or("parties");
                match kind {
                    "parties" => store.write_parties_csv(params.from_ms, params.to_ms, &mut body),
                    _ => store.write_activity_csv(params.from_ms, params.to_ms, &mut body),
                }
                .map_err(|e| match e {
                    ExportError::Store(e) => unreadable(&store, e),
                    other => other.to_string(),
                })?;
                let mut reply = text(StatusCode::OK, body);
                set(&mut reply, header::CONTENT_TYPE, "text/csv; charset=utf-8");
                set(&mut reply, header::CACHE_CONTROL, "no-store");
                let day = crate::store::query::utc_day(params.from_ms);
                set(
                    &mut reply,
                    header::CONTENT_DISPOSITION,
                    &format!("attachment; filename=\"coaster-{kind}-{day}.csv\""),
                );
                Ok(reply)
            }
            _ => Ok(problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such part of the stand's history.",
            )),
        }
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => {
            tracing::warn!(%error, "the stand's history could not be read");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                &format!("The stand's history cannot be read right now: {error}"),
            )
        }
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The read stopped unexpectedly.",
        ),
    }
}

fn page<T: Serialize>(
    store: &Store,
    rows: Vec<T>,
    not_recording: Option<String>,
) -> Result<Reply, String> {
    let tablets = store.tablet_names().map_err(|e| unreadable(store, e))?;
    let body = StandPage {
        rows,
        tablets,
        not_recording,
    };
    Ok(json(
        StatusCode::OK,
        serde_json::to_value(body).map_err(|e| e.to_string())?,
    ))
}

/// A read's failure in the words the header uses for the same trouble.
fn unreadable(store: &Store, error: rusqlite::Error) -> String {
    crate::store::writer::reason(store.path(), &error)
}

fn problem(status: StatusCode, code: &str, message: &str) -> Reply {
    json(
        status,
        serde_json::json!({ "code": code, "message": message }),
    )
}

/// The query string, checked: every bad value is a named error.
#[derive(Debug, Default, PartialEq)]
struct Params {
    from_ms: i64,
    to_ms: i64,
    q: Option<String>,
    tablet: Option<String>,
    outcome: Option<String>,
    kind: Option<String>,
    limit: u32,
    /// The tablet's clock, minutes east of UTC, for hours and days.
    tz_offset_min: i32,
    size: Option<u32>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut params = Params::default();
        let (mut from, mut to) = (None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            let number = |name: &str| {
                value.parse::<i64>().map_err(|_| {
                    format!("{name} must be a whole number of milliseconds, not {value:?}")
                })
            };
            match key.as_ref() {
                "from_ms" => from = Some(number("from_ms")?),
                "to_ms" => to = Some(number("to_ms")?),
                "q" => params.q = Some(value).filter(|v| !v.trim().is_empty()),
                "tablet" => params.tablet = Some(value).filter(|v| !v.is_empty()),
                "outcome" if value.is_empty() => {}
                "outcome" if OUTCOMES.contains(&value.as_str()) => params.outcome = Some(value),
                "outcome" => {
                    return Err(format!(
                        "outcome must be one of {}, not {value:?}",
                        OUTCOMES.join(", ")
                    ))
                }
                "kind" if value == "parties" || value == "activity" => params.kind = Some(value),
                "kind" => return Err(format!("kind must be parties or activity, not {value:?}")),
                "limit" => {
                    params.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_ROWS).contains(n))
                        .ok_or_else(|| format!("limit must be 1 to {MAX_ROWS}, not {value:?}"))?
                }
                "tz_offset_min" => {
                    params.tz_offset_min = value
                        .parse::<i32>()
                        .ok()
                        .filter(|m| m.abs() <= 14 * 60)
                        .ok_or_else(|| {
                            format!(
                            "tz_offset_min must be minutes east of UTC, -840 to 840, not {value:?}"
                        )
                        })?
                }
                "size" => {
                    params.size = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=shared::limits::PARTY_MAX).contains(n))
                            .ok_or_else(|| format!("size must be a party size, not {value:?}"))?,
                    )
                }
                _ => {}
            }
        }
        params.to_ms = to.unwrap_or_else(|| auth::now_ms() + DAY_MS);
        params.from_ms = from.unwrap_or(params.to_ms - 2 * DAY_MS);
        if params.from_ms >= params.to_ms {
            return Err("from_ms must be before to_ms".into());
        }
        Ok(params)
    }
}

/// `/api/lobby/…`: the TV's calls, read with a lobby link's token (or a
/// tablet's); and the links themselves, made and revoked from a tablet.
pub async fn lobby(request: &Request<Incoming>, connection: &Connection) -> Reply {
    let site = &connection.site;
    let path = request.uri().path();
    let method = request.method().clone();
    let shown = token(request).unwrap_or_default().to_string();
    let tablet = {
        let mut access = site.access.lock().expect("access lock");
        access.admit(Some(&shown), auth::now_ms()).is_some()
    };
    if path == "/api/lobby/calls" {
        if method != Method::GET && method != Method::HEAD {
            return problem(StatusCode::METHOD_NOT_ALLOWED, "method", "GET only.");
        }
        if !tablet && !site.lobby.lock().expect("lobby lock").admits(&shown) {
            return problem(
                StatusCode::UNAUTHORIZED,
                "lobby_link",
                "This lobby link is not valid (revoked?). Make a new one in Settings.",
            );
        }
        let store = site.store.clone();
        let now = auth::now_ms();
        return match tokio::task::spawn_blocking(move || store.calls(now - CALLING_MS)).await {
            Ok(Ok(calls)) => {
                let calls: Vec<_> = calls
                    .iter()
                    .map(|(number, at_ms)| serde_json::json!({ "number": number, "at_ms": at_ms }))
                    .collect();
                json(
                    StatusCode::OK,
                    serde_json::json!({ "calls": calls, "now_ms": now }),
                )
            }
            _ => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "The stand's history cannot be read right now.",
            ),
        };
    }
    if !tablet {
        return problem(
            StatusCode::UNAUTHORIZED,
            "sign_in",
            "Sign in with the venue PIN first.",
        );
    }
    if method != Method::GET {
        if let Some(refusal) = refuse_foreign(request, connection) {
            return refusal;
        }
    }
    let mut links = site.lobby.lock().expect("lobby lock");
    let done = match (method, path.strip_prefix("/api/lobby/links")) {
        (Method::GET, Some("")) => Ok(None),
        (Method::POST, Some("")) => links.create(auth::now_ms()).map(Some),
        (Method::DELETE, Some(id)) if id.starts_with('/') => links.revoke(&id[1..]).map(|_| None),
        _ => return problem(StatusCode::NOT_FOUND, "not_found", "No such lobby request."),
    };
    match done {
        Ok(made) => {
            let made = made.map(|(id, token)| serde_json::json!({ "id": id, "token": token }));
            json(
                StatusCode::OK,
                serde_json::json!({ "links": links.list(), "made": made }),
            )
        }
        Err(error) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lobby_file",
            &format!("The lobby links cannot be saved: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_named() {
        assert!(Params::parse("from_ms=abc")
            .unwrap_err()
            .contains("from_ms"));
        assert!(Params::parse("from_ms=10&to_ms=5")
            .unwrap_err()
            .contains("before"));
        assert!(Params::parse("outcome=maybe")
            .unwrap_err()
            .contains("outcome"));
        assert!(Params::parse("limit=0").unwrap_err().contains("limit"));
        assert!(Params::parse("kind=secrets").unwrap_err().contains("kind"));
    }

    #[test]
    fn a_query_reads_as_asked() {
        let p =
            Params::parse("from_ms=1&to_ms=2&q=Ann%20B&tablet=Front+door&outcome=rejected&limit=5")
                .unwrap();
        assert_eq!(p.from_ms, 1);
        assert_eq!(p.q.as_deref(), Some("Ann B"));
        assert_eq!(p.tablet.as_deref(), Some("Front door"));
        assert_eq!(p.outcome.as_deref(), Some("rejected"));
        assert_eq!(p.limit, 5);
    }
}
