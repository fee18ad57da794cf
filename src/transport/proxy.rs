//! Proxies as Node applies them: none unless asked. The `proxy` option names one for every
//! request; otherwise, when the process opted in (`NODE_USE_ENV_PROXY=1` or
//! `--use-env-proxy`), `HTTPS_PROXY` serves https targets and `HTTP_PROXY` http ones, except
//! hosts matched by `NO_PROXY`. The JS side reads the environment (lowercase names win, as in
//! Node) and hands over the result as a [`ProxySetting`].

use crate::config::ProxySetting;
use crate::error::ClientError;

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

/// The reqwest proxies for `setting`, in the order reqwest should try them.
pub fn proxies(setting: &ProxySetting) -> Result<Vec<reqwest::Proxy>, ClientError> {
    match setting {
        ProxySetting::Direct => Ok(Vec::new()),
        ProxySetting::Url(url) => Ok(vec![reqwest::Proxy::all(url.as_str()).map_err(|e| invalid("proxy", e))?]),
        ProxySetting::Env { http, https, no_proxy } => {
            let no_proxy = || no_proxy.as_deref().and_then(reqwest::NoProxy::from_string);
            let mut list = Vec::new();
            if let Some(url) = https.as_deref().filter(|u| !u.is_empty()) {
                list.push(reqwest::Proxy::https(url).map_err(|e| invalid("HTTPS_PROXY", e))?.no_proxy(no_proxy()));
            }
            if let Some(url) = http.as_deref().filter(|u| !u.is_empty()) {
                list.push(reqwest::Proxy::http(url).map_err(|e| invalid("HTTP_PROXY", e))?.no_proxy(no_proxy()));
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
    fn a_bad_proxy_url_is_an_invalid_argument_without_the_url() {
        let err = proxies(&ProxySetting::Url("http://user:s3cret@[bad".into())).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
