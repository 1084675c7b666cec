//! `${input}` templates in provider URLs and fields.

use std::collections::BTreeMap;

/// Names referenced by `${name}` in `template`, in order of appearance.
pub(crate) fn names(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Replaces each `${name}` with its value; `Err(name)` for the first name with no value.
pub(crate) fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        out.push_str(values.get(name).ok_or_else(|| name.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A URL template filled in; the error names the template and the missing value.
pub(crate) fn url(template: &str, values: &BTreeMap<String, String>) -> anyhow::Result<String> {
    expand(template, values).map_err(|e| anyhow::anyhow!("{template}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_lists() {
        let v = BTreeMap::from([("subdomain".to_string(), "acme".to_string())]);
        assert_eq!(
            expand("https://${subdomain}.zendesk.com/x", &v).unwrap(),
            "https://acme.zendesk.com/x"
        );
        assert_eq!(expand("${nope}", &v).unwrap_err(), "nope");
        assert_eq!(names("${a}/${b}"), vec!["a", "b"]);
        assert_eq!(expand("plain", &v).unwrap(), "plain");
    }
}
