//! The provider definition: what an app needs to be connected and checked. Parsed from TOML
//! with unknown keys refused, then validated as a whole; errors name file, line and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use super::template;
use crate::core::error::line_col;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub id: String,
    pub display_name: String,
    /// Where the values in this definition come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    pub auth: Vec<AuthSpec>,
    pub api: Api,
    pub check: CheckSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// An instance parameter (subdomain, base URL, ...), asked by the wizard or given with `--set`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// May be left empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl Input {
    /// Checks a value against the input's rules; `Err` says what is expected.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return if self.optional {
                Ok(())
            } else {
                Err(format!("{} must not be empty", self.label))
            };
        }
        if let Some(choices) = &self.choices
            && !choices.iter().any(|c| c == value)
        {
            return Err(format!(
                "{} must be one of: {}",
                self.label,
                choices.join(", ")
            ));
        }
        if let Some(p) = &self.pattern {
            let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
            if !re.is_match(value) {
                return Err(match &self.help {
                    Some(h) => format!("{value:?} is not a valid {}. {h}", self.label),
                    None => format!("{value:?} is not a valid {} (expected {p})", self.label),
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    ApiKey(ApiKeySpec),
    Basic(BasicSpec),
}

impl AuthSpec {
    pub fn method(&self) -> &'static str {
        match self {
            AuthSpec::ApiKey(_) => "api_key",
            AuthSpec::Basic(_) => "basic",
        }
    }

    /// What a person sees when choosing a method.
    pub fn label(&self) -> String {
        match self {
            AuthSpec::ApiKey(s) => s.label.clone().unwrap_or_else(|| "API key".into()),
            AuthSpec::Basic(s) => s
                .label
                .clone()
                .unwrap_or_else(|| "User name and password (HTTP Basic)".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    #[default]
    Header,
    Query,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default)]
    pub placement: Placement,
    /// Header name or query parameter name.
    pub name: String,
    /// Text before the key, e.g. `Bearer `.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_label: Option<String>,
    /// Appended to the user name when sending (Zendesk's `/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_suffix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub base_url: String,
    /// Headers sent with every request (e.g. an API version).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentitySpec>,
    /// A 2xx answer without an identity id means "not signed in" (APIs that answer anonymous
    /// callers with 200).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_required: bool,
}

fn default_method() -> String {
    "GET".into()
}

/// JSON pointers (RFC 6901) into the check response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotating_refresh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active_grants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_expire: Option<bool>,
}

impl Provider {
    pub fn auth(&self, method: &str) -> Option<&AuthSpec> {
        self.auth.iter().find(|a| a.method() == method)
    }

    pub fn methods(&self) -> Vec<&'static str> {
        self.auth.iter().map(AuthSpec::method).collect()
    }
}

pub fn parse_file(path: &Path) -> Result<Provider> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: could not read", path.display()))?;
    parse(&text, path)
}

/// Parses and validates one provider definition. `origin` names the file in errors.
pub fn parse(text: &str, origin: &Path) -> Result<Provider> {
    let provider: Provider = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        anyhow!("{}:{line}:{col}: {}", origin.display(), e.message().trim())
    })?;
    validate(&provider).map_err(|(field, msg, needle)| {
        let line = needle
            .and_then(|n| text.find(&n))
            .map_or(1, |off| line_col(text, off).0);
        anyhow!("{}:{line}: {field}: {msg}", origin.display())
    })?;
    Ok(provider)
}

type Invalid = (String, String, Option<String>);

fn invalid(field: impl Into<String>, msg: impl Into<String>, needle: Option<&str>) -> Invalid {
    (field.into(), msg.into(), needle.map(str::to_string))
}

fn validate(p: &Provider) -> std::result::Result<(), Invalid> {
    let ident = regex::Regex::new("^[a-z0-9][a-z0-9-]*$").expect("static regex");
    if !ident.is_match(&p.id) {
        return Err(invalid(
            "id",
            "use lowercase letters, digits and '-'",
            Some(&p.id),
        ));
    }
    let mut names = BTreeSet::new();
    let re = regex::Regex::new("^[a-z][a-z0-9_]*$").expect("static regex");
    for (i, input) in p.inputs.iter().enumerate() {
        let field = format!("inputs[{i}]");
        if !re.is_match(&input.name) {
            return Err(invalid(
                format!("{field}.name"),
                "use lowercase letters, digits and '_'",
                Some(&input.name),
            ));
        }
        if !names.insert(input.name.clone()) {
            return Err(invalid(
                format!("{field}.name"),
                format!("input {:?} is defined twice", input.name),
                Some(&input.name),
            ));
        }
        if let Some(pat) = &input.pattern
            && let Err(e) = regex::Regex::new(pat)
        {
            return Err(invalid(
                format!("{field}.pattern"),
                format!("not a valid regular expression: {e}"),
                Some(pat),
            ));
        }
        if let Some(d) = &input.default
            && let Err(e) = input.validate(d)
        {
            return Err(invalid(format!("{field}.default"), e, Some(d)));
        }
    }
    if p.auth.is_empty() {
        return Err(invalid(
            "auth",
            "at least one [[auth]] method is required",
            None,
        ));
    }
    let mut methods = BTreeSet::new();
    for (i, a) in p.auth.iter().enumerate() {
        if !methods.insert(a.method()) {
            return Err(invalid(
                format!("auth[{i}].method"),
                format!("method {:?} is listed twice", a.method()),
                None,
            ));
        }
        if let AuthSpec::ApiKey(k) = a {
            check_templates(&format!("auth[{i}].name"), &k.name, &names)?;
            check_templates(&format!("auth[{i}].prefix"), &k.prefix, &names)?;
            if k.name.trim().is_empty() {
                return Err(invalid(
                    format!("auth[{i}].name"),
                    "must not be empty",
                    None,
                ));
            }
        }
    }
    check_templates("api.base_url", &p.api.base_url, &names)?;
    if !p.api.base_url.starts_with("${") {
        let probe: BTreeMap<String, String> =
            names.iter().map(|n| (n.clone(), "x".to_string())).collect();
        let url = template::expand(&p.api.base_url, &probe).unwrap_or_default();
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(invalid(
                    "api.base_url",
                    "must be an http(s) URL",
                    Some(&p.api.base_url),
                ));
            }
        }
    }
    check_templates("check.path", &p.check.path, &names)?;
    if !(p.check.path.starts_with('/') || p.check.path.starts_with("${")) {
        return Err(invalid(
            "check.path",
            "must start with '/'",
            Some(&p.check.path),
        ));
    }
    if !matches!(p.check.method.as_str(), "GET" | "POST" | "HEAD") {
        return Err(invalid(
            "check.method",
            "must be GET, POST or HEAD",
            Some(&p.check.method),
        ));
    }
    if let Some(id) = &p.check.identity {
        for (field, ptr) in [
            ("check.identity.id", &id.id),
            ("check.identity.label", &id.label),
        ] {
            if let Some(ptr) = ptr {
                check_templates(field, ptr, &names)?;
                if !(ptr.is_empty() || ptr.starts_with('/') || ptr.starts_with("${")) {
                    return Err(invalid(
                        field,
                        "must be a JSON pointer such as /user/id",
                        Some(ptr),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_templates(
    field: &str,
    value: &str,
    names: &BTreeSet<String>,
) -> std::result::Result<(), Invalid> {
    for n in template::names(value) {
        if !names.contains(&n) {
            return Err(invalid(
                field,
                format!("${{{n}}} names no input (define it under [[inputs]])"),
                Some(&format!("${{{n}}}")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
id = "acme"
display_name = "Acme"
[[inputs]]
name = "subdomain"
label = "Subdomain"
pattern = "[a-z]+"
[[auth]]
method = "api_key"
name = "X-Key"
[api]
base_url = "https://${subdomain}.acme.test"
[check]
path = "/me"
"#;

    #[test]
    fn valid_definition_parses() {
        let p = parse(OK, Path::new("acme.toml")).unwrap();
        assert_eq!(p.methods(), vec!["api_key"]);
        assert!(p.inputs[0].validate("abc").is_ok());
        assert!(p.inputs[0].validate("ab1").is_err());
    }

    #[test]
    fn unknown_key_reports_line() {
        let bad = OK.replace("[check]\n", "[check]\nbogus = 1\n");
        let e = parse(&bad, Path::new("acme.toml")).unwrap_err().to_string();
        assert!(e.starts_with("acme.toml:14:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn undefined_template_is_refused_with_field() {
        let bad = OK.replace("${subdomain}.acme", "${tenant}.acme");
        let e = parse(&bad, Path::new("acme.toml")).unwrap_err().to_string();
        assert!(e.contains("api.base_url"), "{e}");
        assert!(e.contains("${tenant}"), "{e}");
        assert!(e.starts_with("acme.toml:12:"), "{e}");
    }
}
