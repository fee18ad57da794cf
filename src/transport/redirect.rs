//! Redirects the way `fetch` follows them: up to [`MAX_REDIRECTS`] hops (20, as `fetch`);
//! 307/308 keep method and body,
//! 301/302 on POST and 303 become GET (reqwest's rules); a hop to another origin loses
//! `Authorization` (reqwest strips it when the host or port changes). Refused here: https
//! to http, and plain http to a host that is not loopback unless `allowInsecure`.

use std::fmt;

use reqwest::redirect::{Attempt, Policy};

/// The most redirects one request follows: `fixed.maxRedirects` of the options table, which
/// the fetch transport's and the portable build's redirects read too (lib/fetch-redirect.js).
pub const MAX_REDIRECTS: usize = crate::option_table::MAX_REDIRECTS as usize;

/// Why a redirect was not followed; `code` becomes `error.code`.
#[derive(Debug)]
pub struct RedirectRefused {
    pub code: &'static str,
    reason: String,
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for RedirectRefused {}

pub fn policy(allow_insecure: bool) -> Policy {
    Policy::custom(move |attempt| decide(attempt, allow_insecure))
}

fn decide(attempt: Attempt<'_>, allow_insecure: bool) -> reqwest::redirect::Action {
    let refuse = |attempt: Attempt<'_>, code, reason: String| attempt.error(RedirectRefused { code, reason });
    if attempt.previous().len() > MAX_REDIRECTS {
        return refuse(attempt, "ERR_TOO_MANY_REDIRECTS", format!("more than {MAX_REDIRECTS} redirects"));
    }
    let next = attempt.url();
    let from_https = attempt.previous().last().is_some_and(|u| u.scheme() == "https");
    match next.scheme() {
        "https" => attempt.follow(),
        "http" if from_https => {
            let reason = format!("refused a redirect from https to plain http ({})", origin(next));
            refuse(attempt, "ERR_INSECURE_REDIRECT", reason)
        }
        "http" if !allow_insecure && !super::resolve::is_loopback_url(next) => {
            let reason = format!("refused a redirect to plain http on a non-loopback host ({})", origin(next));
            refuse(attempt, "ERR_INSECURE_REDIRECT", reason)
        }
        "http" => attempt.follow(),
        other => {
            let reason = format!("refused a redirect to a {other}: URL");
            refuse(attempt, "ERR_INSECURE_REDIRECT", reason)
        }
    }
}

/// Scheme, host and port only: a Location may carry credentials or a query.
fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}
