//! API key auth: the key in a header (with an optional prefix such as `Bearer `), in a query
//! parameter, in HTTP Basic, or as the first segment of the URL path (Telegram's `bot<token>`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use reqwest::blocking::RequestBuilder;
use reqwest::header::{HeaderName, HeaderValue};

use super::{Authenticator, Method, SecretField};
use crate::catalog::{ApiKeySpec, Placement, template};
use crate::core::secret::{Secret, SecretBundle};

/// Key of the API key in the secret bundle.
pub(crate) const FIELD: &str = "api_key";

#[derive(Debug)]
pub(crate) struct ApiKey {
    placement: Placement,
    name: String,
    prefix: String,
    key: Secret<String>,
    basic_user: Option<String>,
    basic_password: Option<String>,
}

impl ApiKey {
    pub(crate) fn new(
        spec: &ApiKeySpec,
        inputs: &BTreeMap<String, String>,
        key: Secret<String>,
    ) -> Result<Self> {
        let expand = |t: &str| {
            template::expand(t, inputs)
                .map_err(|n| anyhow::anyhow!("the connection has no value for input '{n}'"))
        };
        let name = expand(&spec.name)?;
        let prefix = expand(&spec.prefix)?;
        // A line break here would end the header and start another one (or a broken request
        // with no credentials at all): refused, by name.
        use crate::core::text::check_single_line;
        check_single_line("the API key's header name", &name).map_err(anyhow::Error::msg)?;
        check_single_line("the API key's prefix", &prefix).map_err(anyhow::Error::msg)?;
        check_single_line("the API key", key.expose()).map_err(anyhow::Error::msg)?;
        if spec.placement == Placement::Header {
            HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("{name:?} is not a valid header name"))?;
            // A value a header can't carry is an error here, never a request sent without it
            // (which the API would answer as if the key were revoked).
            let value = zeroize::Zeroizing::new(format!("{prefix}{}", key.expose()));
            if HeaderValue::from_str(&value).is_err() {
                let field = spec.label.as_deref().unwrap_or("API key");
                anyhow::bail!(
                    "the {field} can't be sent in the {name} header: it holds a character HTTP headers can't carry (a control character, or one outside ASCII). Enter it again ('conn reauth' for a saved connection)"
                );
            }
        }
        Ok(ApiKey {
            placement: spec.placement,
            name,
            prefix,
            key,
            basic_user: spec.basic_user.clone(),
            basic_password: spec.basic_password.clone(),
        })
    }
}

impl ApiKey {
    /// `placement = "basic"`: the `user:password` pair the Basic credentials encode.
    fn basic_pair(&self) -> Option<Secret<String>> {
        if self.placement != Placement::Basic {
            return None;
        }
        Some(Secret::new(match &self.basic_user {
            Some(u) => format!("{u}:{}", self.key.expose()),
            None => format!(
                "{}:{}",
                self.key.expose(),
                self.basic_password.as_deref().unwrap_or("")
            ),
        }))
    }

    /// `placement = "basic"`: the base64 of `user:password` as sent.
    fn basic_credentials(&self) -> Option<Secret<String>> {
        use base64::Engine;
        let pair = self.basic_pair()?;
        Some(Secret::new(
            base64::engine::general_purpose::STANDARD.encode(pair.expose().as_bytes()),
        ))
    }
}

/// Inserts `segment` as the first segment of `url`'s path (after any the test origin added).
fn in_path(url: &mut url::Url, segment: &str) {
    let skip = crate::core::http::routed_segments(url);
    let rest: Vec<String> = url
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default();
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear();
        let (head, tail) = rest.split_at(skip.min(rest.len()));
        path.extend(head);
        path.push(segment);
        path.extend(tail.iter().filter(|s| !s.is_empty() || tail.len() > 1));
    }
}

impl Authenticator for ApiKey {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        match self.placement {
            Placement::Header => {
                let value =
                    zeroize::Zeroizing::new(format!("{}{}", self.prefix, self.key.expose()));
                match HeaderValue::from_str(&value) {
                    Ok(mut v) => {
                        v.set_sensitive(true);
                        req.header(self.name.as_str(), v)
                    }
                    // `new` refused such a key; should one get here, the request fails with a
                    // builder error instead of going out without its credentials.
                    Err(_) => req.header(self.name.as_str(), value.as_bytes().to_vec()),
                }
            }
            Placement::Query => {
                let value = format!("{}{}", self.prefix, self.key.expose());
                req.query(&[(self.name.as_str(), value.as_str())])
            }
            Placement::Basic => match &self.basic_user {
                Some(user) => req.basic_auth(user, Some(self.key.expose())),
                None => req.basic_auth(self.key.expose(), self.basic_password.as_deref()),
            },
            Placement::Path => {
                let (client, built) = req.build_split();
                match built {
                    Ok(mut request) => {
                        let segment = zeroize::Zeroizing::new(format!(
                            "{}{}",
                            self.prefix,
                            self.key.expose()
                        ));
                        in_path(request.url_mut(), &segment);
                        RequestBuilder::from_parts(client, request)
                    }
                    // The request could not be built, so it can't carry the key either: send
                    // nowhere (port 0 refuses at once, on this machine) and fail as unreachable.
                    Err(_) => RequestBuilder::from_parts(
                        client,
                        reqwest::blocking::Request::new(
                            reqwest::Method::GET,
                            "http://127.0.0.1:0/".parse().expect("static URL"),
                        ),
                    ),
                }
            }
        }
    }

    fn secret_values(&self) -> Vec<Secret<String>> {
        // The key; `core::scrub` matches it in every encoding (a query string's included).
        let mut out = vec![self.key.clone()];
        if let Some(pair) = self.basic_pair() {
            out.extend(
                crate::core::scrub::base64_forms(pair.expose())
                    .into_iter()
                    .map(Secret::new),
            );
        }
        out
    }

    fn env_vars(&self) -> Vec<(&'static str, Secret<String>)> {
        use super::env_var::*;
        let mut out = vec![(API_KEY, self.key.clone())];
        if self.placement == Placement::Header {
            let value = format!("{}{}", self.prefix, self.key.expose());
            if self.name.eq_ignore_ascii_case("authorization") {
                out.push((AUTHORIZATION, Secret::new(value.clone())));
            }
            out.push((AUTH_HEADER, Secret::new(format!("{}: {value}", self.name))));
        }
        if let Some(b64) = self.basic_credentials() {
            let value = format!("Basic {}", b64.expose());
            out.push((AUTH_HEADER, Secret::new(format!("Authorization: {value}"))));
            out.push((AUTHORIZATION, Secret::new(value)));
        }
        out
    }
}

impl Method for ApiKeySpec {
    fn secret_fields(&self) -> Vec<SecretField> {
        vec![SecretField {
            key: FIELD,
            label: self.label.clone().unwrap_or_else(|| "API key".into()),
        }]
    }

    fn own_inputs(&self) -> Vec<String> {
        [template::names(&self.name), template::names(&self.prefix)].concat()
    }

    fn sent_as(&self, values: &BTreeMap<String, String>) -> Option<String> {
        if self.own_inputs().is_empty() {
            return None;
        }
        let name = template::expand(&self.name, values).ok()?;
        let prefix = template::expand(&self.prefix, values).ok()?;
        match self.placement {
            Placement::Header => Some(format!("{name}: {prefix}<key>")),
            Placement::Query => Some(format!("?{name}={prefix}<key>")),
            Placement::Basic | Placement::Path => None,
        }
    }

    fn token_field(&self) -> &'static str {
        FIELD
    }

    fn authenticator(
        &self,
        values: &BTreeMap<String, String>,
        _username: Option<&str>,
        secrets: &SecretBundle,
    ) -> Result<Box<dyn Authenticator>> {
        let key = secrets.get(FIELD).ok_or_else(|| super::missing(FIELD))?;
        Ok(Box::new(ApiKey::new(self, values, key.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_key_becomes_the_first_segment() {
        for (url, want) in [
            (
                "https://api.telegram.org/getMe",
                "https://api.telegram.org/bot1:AB/getMe",
            ),
            (
                "https://api.telegram.org/",
                "https://api.telegram.org/bot1:AB",
            ),
            ("https://h.test/a/b?x=1", "https://h.test/bot1:AB/a/b?x=1"),
        ] {
            let mut u = url::Url::parse(url).unwrap();
            in_path(&mut u, "bot1:AB");
            assert_eq!(u.as_str(), want);
        }
    }

    #[test]
    fn a_path_key_is_scrubbed_as_encoded() {
        let spec: ApiKeySpec = toml::from_str("placement = \"path\"\nprefix = \"bot\"").unwrap();
        let k = ApiKey::new(&spec, &BTreeMap::new(), Secret::new("1:a b".into())).unwrap();
        // The key as it stands in a URL path: the space percent-encoded.
        let out = crate::auth::scrub("GET /bot1:a%20b/getMe failed", &k);
        assert!(!out.contains("a%20b"), "{out}");
        assert!(out.contains("(redacted)"), "{out}");
    }
}
