//! Proxies as Node applies them: none unless asked. The `proxy` option names one for every
//! request; otherwise, when the process opted in (`NODE_USE_ENV_PROXY=1` or
//! `--use-env-proxy`), `HTTPS_PROXY` serves https targets and `HTTP_PROXY` http ones, except
//! hosts matched by `NO_PROXY`. The JS side reads the environment (lowercase names win, as in
//! Node) and hands over the result as a [`ProxySetting`].

use crate::error::ClientError;
use crate::transport::config::ProxySetting;

fn invalid(what: &str, e: reqwest::Error) -> ClientError {
    // The URL may carry proxy credentials: name the setting, not its value.
    ClientError::InvalidArgument { detail: format!("{what} is not a usable proxy URL ({})", without_url(&e)) }
}

fn without_url(e: &reqwest::Error) -> String {
    match std::error::Error::source(e) {
        Some(inner) => inner.to_string(),
        None => "invalid URL".to_owned(),
    }
}

/// `NO_PROXY` as Node reads it: entries split on commas and spaces; `*` exempts everything;
/// `host` exempts exactly that host, `.domain` or `*.domain` every host ending in `.domain`;
/// `entry:port` narrows an entry to one port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    everything: bool,
    entries: Vec<(String, Option<u16>)>,
}

fn bare_host(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl NoProxy {
    pub fn parse(value: &str) -> NoProxy {
        let mut list = NoProxy::default();
        for entry in value.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.everything = true;
                continue;
            }
            let (host, port) = match entry.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && !host.ends_with(':') && port.parse::<u16>().is_ok() => {
                    (host, port.parse().ok())
                }
                _ => (entry, None),
            };
            list.entries.push((bare_host(host), port));
        }
        list
    }

    pub fn exempts(&self, url: &reqwest::Url) -> bool {
        if self.everything {
            return true;
        }
        let Some(host) = url.host_str().map(bare_host) else { return false };
        let port = url.port_or_known_default();
        self.entries.iter().any(|(entry, entry_port)| {
            if entry_port.is_some() && *entry_port != port {
                return false;
            }
            match entry.strip_prefix('*').unwrap_or(entry) {
                suffix if suffix.starts_with('.') => host.ends_with(suffix),
                exact => host == exact,
            }
        })
    }
}

/// The reqwest proxies for `setting`, in the order reqwest should try them.
pub fn proxies(setting: &ProxySetting) -> Result<Vec<reqwest::Proxy>, ClientError> {
    match setting {
        ProxySetting::Direct => Ok(Vec::new()),
        ProxySetting::Url(url) => Ok(vec![reqwest::Proxy::all(url.as_str()).map_err(|e| invalid("proxy", e))?]),
        ProxySetting::Env { http, https, no_proxy } => {
            let exempt = NoProxy::parse(no_proxy.as_deref().unwrap_or(""));
            let mut list = Vec::new();
            for (scheme, proxy_url, name) in [("https", https, "HTTPS_PROXY"), ("http", http, "HTTP_PROXY")] {
                let Some(proxy_url) = proxy_url.as_deref().filter(|u| !u.is_empty()) else { continue };
                let proxy_url = reqwest::Url::parse(proxy_url).map_err(|_| ClientError::InvalidArgument {
                    detail: format!("{name} is not a usable proxy URL"),
                })?;
                let exempt = exempt.clone();
                list.push(reqwest::Proxy::custom(move |target| {
                    (target.scheme() == scheme && !exempt.exempts(target)).then(|| proxy_url.clone())
                }));
            }
            Ok(list)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_means_none() {
        assert!(proxies(&ProxySetting::Direct).unwrap().is_empty());
    }

    #[test]
    fn env_gives_one_proxy_per_scheme() {
        let setting = ProxySetting::Env {
            http: Some("http://127.0.0.1:3128".into()),
            https: Some("http://127.0.0.1:3129".into()),
            no_proxy: Some("localhost,.internal".into()),
        };
        assert_eq!(proxies(&setting).unwrap().len(), 2);
    }

    #[test]
    fn no_proxy_follows_node() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        let list = NoProxy::parse("localhost, .internal *.corp.example,10.0.0.1:8080 [::1]");
        assert!(list.exempts(&url("http://localhost:1/")));
        assert!(!list.exempts(&url("http://notlocalhost/")));
        assert!(list.exempts(&url("https://a.b.internal/")));
        assert!(!list.exempts(&url("https://internal/")));
        assert!(list.exempts(&url("https://x.corp.example/")));
        assert!(list.exempts(&url("http://10.0.0.1:8080/")));
        assert!(!list.exempts(&url("http://10.0.0.1:8081/")));
        assert!(list.exempts(&url("http://[::1]:9/")));
        assert!(NoProxy::parse("*").exempts(&url("https://id.chitty.cc/")));
        assert!(!NoProxy::parse("").exempts(&url("https://id.chitty.cc/")));
        let https_default = NoProxy::parse("id.chitty.cc:443");
        assert!(https_default.exempts(&url("https://id.chitty.cc/v1")));
        assert!(!https_default.exempts(&url("http://id.chitty.cc/v1")));
    }

    #[test]
    fn a_bad_proxy_url_is_an_invalid_argument_without_the_url() {
        let err = proxies(&ProxySetting::Url("http://user:s3cret@[bad".into())).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
