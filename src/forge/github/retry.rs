//! When and how long to wait before making a failed GitHub call again. Octocrab's own
//! retry layer makes a 5xx or a dropped connection again at once, so many events (or
//! replicas) failing together all come back together; this one spreads them out.

use std::future::Future;
use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// Retries after the first attempt, as octocrab's layer made before; after them the
/// worker's own (jittered) backoff takes over.
const MAX_RETRIES: u32 = 4;
/// The first wait after a server error or a transport failure, doubled each time.
const BASE: Duration = Duration::from_millis(500);
const CAP: Duration = Duration::from_secs(8);
/// The wait for a rate limit that says neither `Retry-After` nor when it resets.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);
/// The longest rate-limit wait taken inside a call. A longer one (a spent hourly budget)
/// is not slept through holding the pull request's lane and its merge lock: the call
/// fails as transient, and the event queue tries again later, deciding afresh.
const MAX_WAIT_IN_CALL: Duration = Duration::from_secs(60);

/// What went wrong, as far as retrying is concerned.
#[derive(Debug)]
pub enum Failure<'a> {
    /// GitHub answered with this status and these headers.
    Status(StatusCode, Option<&'a HeaderMap>),
    /// No answer: a refused or dropped connection, a timeout before the answer came.
    Transport,
    /// Anything else (a body that does not decode, a bad request built here).
    Other,
}

impl<'a> Failure<'a> {
    pub fn of(e: &'a octocrab::Error) -> Self {
        match e {
            octocrab::Error::GitHub { source, .. } => {
                Failure::Status(source.status_code, source.headers.as_ref())
            }
            // Before an answer: the request may be made again as octocrab's layer did.
            octocrab::Error::Service { .. } => Failure::Transport,
            // `Hyper` is an answer's body failing to arrive: GitHub may have acted on the
            // request (a comment posted, a merge made), so it is not made again here.
            _ => Failure::Other,
        }
    }
}

/// How long to wait before trying again, before jitter.
#[derive(Debug, PartialEq)]
pub enum Wait {
    /// A server error or transport failure: doubling from 0.5 s, at most 8 s.
    Backoff,
    /// A rate limit: at least this long, as GitHub asks.
    AsAsked(Duration),
}

/// Whether a failure is worth another attempt, from GitHub's answer alone: 5xx and
/// transport failures are; 429, and 403 with GitHub's rate-limit headers, are after the
/// wait they name (`Retry-After`, else until `x-ratelimit-reset` when nothing is left).
/// A 403 without them may be a real refusal and is not retried; a 401 is retried by
/// octocrab once with a fresh installation token. `now` is Unix seconds.
pub fn wait_for(failure: &Failure, now: i64) -> Option<Wait> {
    let (status, headers) = match failure {
        Failure::Transport => return Some(Wait::Backoff),
        Failure::Other => return None,
        Failure::Status(status, headers) => (*status, *headers),
    };
    if status.is_server_error() {
        return Some(Wait::Backoff);
    }
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::FORBIDDEN {
        return None;
    }
    let header =
        |name: &str| -> Option<i64> { headers?.get(name)?.to_str().ok()?.trim().parse().ok() };
    let secs = |s: i64| Duration::from_secs(s.max(0).unsigned_abs());
    match (
        header("retry-after"),
        header("x-ratelimit-remaining"),
        header("x-ratelimit-reset"),
    ) {
        (Some(after), _, _) => Some(Wait::AsAsked(secs(after))),
        (None, Some(0), Some(reset)) => {
            Some(Wait::AsAsked(secs(reset - now).max(MIN_RATE_LIMIT_WAIT)))
        }
        _ if status == StatusCode::TOO_MANY_REQUESTS => Some(Wait::AsAsked(MIN_RATE_LIMIT_WAIT)),
        _ => None,
    }
}

/// The wait before retry number `attempt` (from 1), if it is to be made here: not after
/// `MAX_RETRIES`, nor when GitHub asks for more than `MAX_WAIT_IN_CALL`.
pub fn wait_before_retry(failure: &Failure, now: i64, attempt: u32) -> Option<Wait> {
    wait_for(failure, now)
        .filter(|_| attempt <= MAX_RETRIES)
        .filter(|w| !matches!(w, Wait::AsAsked(d) if *d > MAX_WAIT_IN_CALL))
}

/// How long to sleep before retry number `attempt` (from 1): backoff is jittered either way
/// by a fifth; a rate limit's wait only ever grows (by up to a tenth, at most 5 s more),
/// because GitHub counts a retry made too early against the integration.
pub fn delay(wait: &Wait, attempt: u32) -> Duration {
    match wait {
        Wait::Backoff => crate::backoff::jitter(crate::backoff::exponential(BASE, CAP, attempt)),
        Wait::AsAsked(d) => {
            let extra = (*d / 10).min(Duration::from_secs(5));
            *d + crate::backoff::jitter(extra).saturating_sub(extra.mul_f64(0.8))
        }
    }
}

/// Makes `call` again while its failure is worth it, at most `MAX_RETRIES` times,
/// waiting as `wait_for` and `delay` say; counted in `hoist_forge_retries_total` and,
/// for rate limits, `hoist_forge_rate_limited_total`.
pub async fn retrying<T, F, Fut>(call: F) -> octocrab::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = octocrab::Result<T>>,
{
    let mut attempt = 0;
    loop {
        let result = call().await;
        let Err(e) = &result else { return result };
        attempt += 1;
        let failure = Failure::of(e);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let Some(wait) = wait_before_retry(&failure, now, attempt) else {
            return result;
        };
        let status = match failure {
            Failure::Status(s, _) => s.as_u16().to_string(),
            _ => "transport".to_owned(),
        };
        let pause = delay(&wait, attempt);
        metrics::counter!("hoist_forge_retries_total", "status" => status.clone()).increment(1);
        if let Wait::AsAsked(_) = wait {
            metrics::counter!("hoist_forge_rate_limited_total", "status" => status.clone())
                .increment(1);
            tracing::warn!(
                status,
                wait_seconds = pause.as_secs_f64(),
                "GitHub rate limit: waiting as it asks"
            );
        } else {
            tracing::debug!(
                status,
                attempt,
                wait_seconds = pause.as_secs_f64(),
                "GitHub call failed; trying again"
            );
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    fn status(code: u16, h: &HeaderMap) -> Option<Wait> {
        wait_for(
            &Failure::Status(StatusCode::from_u16(code).unwrap(), Some(h)),
            1_000,
        )
    }

    #[test]
    fn server_errors_and_dropped_connections_back_off() {
        let none = HeaderMap::new();
        for code in [500, 502, 503, 504] {
            assert_eq!(status(code, &none), Some(Wait::Backoff), "{code}");
        }
        assert_eq!(wait_for(&Failure::Transport, 0), Some(Wait::Backoff));
    }

    #[test]
    fn rate_limits_wait_as_github_asks() {
        let s = Duration::from_secs;
        assert_eq!(
            status(429, &headers(&[("retry-after", "7")])),
            Some(Wait::AsAsked(s(7)))
        );
        assert_eq!(
            status(403, &headers(&[("retry-after", "60")])),
            Some(Wait::AsAsked(s(60)))
        );
        let spent =
            |reset: &str| headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset)]);
        assert_eq!(status(403, &spent("1030")), Some(Wait::AsAsked(s(30))));
        // A reset already past still waits the minimum, never a burst of retries.
        assert_eq!(status(403, &spent("990")), Some(Wait::AsAsked(s(5))));
        assert_eq!(status(429, &HeaderMap::new()), Some(Wait::AsAsked(s(5))));
    }

    #[test]
    fn refusals_and_lasting_errors_are_not_retried() {
        let none = HeaderMap::new();
        for code in [400, 401, 404, 409, 422] {
            assert_eq!(status(code, &none), None, "{code}");
        }
        // A 403 without rate-limit headers may be a real refusal.
        assert_eq!(status(403, &none), None);
        assert_eq!(
            status(403, &headers(&[("x-ratelimit-remaining", "4999")])),
            None
        );
        assert_eq!(wait_for(&Failure::Other, 0), None);
    }

    #[test]
    fn backoff_doubles_and_spreads_and_a_rate_limit_is_never_cut_short() {
        for _ in 0..200 {
            let first = delay(&Wait::Backoff, 1).as_secs_f64();
            assert!((0.4..=0.6).contains(&first), "{first}");
            let fourth = delay(&Wait::Backoff, 4).as_secs_f64();
            assert!((3.2..=4.8).contains(&fourth), "{fourth}");
            let asked = delay(&Wait::AsAsked(Duration::from_secs(30)), 1).as_secs_f64();
            assert!((30.0..=31.2).contains(&asked), "{asked}");
            let long = delay(&Wait::AsAsked(Duration::from_secs(3600)), 1).as_secs_f64();
            assert!((3600.0..=3602.0).contains(&long), "{long}");
        }
    }

    #[test]
    fn a_spent_budget_goes_back_to_the_queue_and_retries_stop_after_four() {
        let spent = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "4600"),
        ]);
        let f = Failure::Status(StatusCode::FORBIDDEN, Some(&spent));
        // An hour away: not slept through inside the call.
        assert_eq!(wait_before_retry(&f, 1_000, 1), None);
        let soon = headers(&[("retry-after", "60")]);
        let f = Failure::Status(StatusCode::TOO_MANY_REQUESTS, Some(&soon));
        assert_eq!(
            wait_before_retry(&f, 1_000, 1),
            Some(Wait::AsAsked(Duration::from_secs(60)))
        );
        assert_eq!(
            wait_before_retry(&Failure::Transport, 0, 4),
            Some(Wait::Backoff)
        );
        assert_eq!(wait_before_retry(&Failure::Transport, 0, 5), None);
    }

    #[test]
    fn spread_out_waits_differ() {
        // Two hundred events failing together must not all come back at one instant.
        let waits: std::collections::HashSet<_> = (0..200)
            .map(|_| delay(&Wait::Backoff, 2).as_nanos() / 1_000_000)
            .collect();
        assert!(waits.len() > 10, "{} distinct waits", waits.len());
    }
}
