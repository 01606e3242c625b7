//! The `http` task's request: [`HttpMethod`], and the per-host rendering
//! of its URL, header values and body with the same [`Template`] rules as
//! every other task (`{host}`, `{vars.KEY}`...).
//!
//! A body that is JSON is templated inside its strings only (keys and
//! values), so that a JSON body needs no `{{` escaping and a rendered
//! value can never break the JSON (it is re-encoded as a JSON string). A
//! body that is not JSON is one text template.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::Target;
use crate::template::{RenderError, Template, TemplateError};

/// The method of an HTTP request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// Every method.
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    /// The method as sent: `GET`, `POST`...
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HttpMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        HttpMethod::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown HTTP method `{s}`: expected GET, POST, PUT, PATCH or DELETE")
            })
    }
}

/// The warning printed once per run with `--insecure`.
pub const INSECURE_WARNING: &str = "warning: --insecure: the devices' TLS certificates are not \
     verified, so anyone on the path can impersonate a device and read the credentials sent to \
     it; set `ca_file:` in the inventory to the CA that signed them instead";

/// Why an `http` task's templates cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpTemplateError {
    /// A template is wrong (caught by `Job::validate`).
    #[error("{what}: {error}")]
    Parse {
        /// `the URL`, `header X`, `the body`.
        what: String,
        /// What is wrong, where.
        error: TemplateError,
    },
    /// The host lacks a value.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Whether `text` is a JSON body (templated inside its strings).
fn json_body(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Every string of a JSON value (object keys included), depth first.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out);
        }),
        _ => {}
    }
}

fn render_value(v: &Value, target: &Target) -> Result<Value, HttpTemplateError> {
    let text = |s: &str| -> Result<String, HttpTemplateError> {
        let t = Template::parse(s).map_err(|error| HttpTemplateError::Parse {
            what: "the body".into(),
            error,
        })?;
        Ok(t.render(target)?)
    };
    Ok(match v {
        Value::String(s) => Value::String(text(s)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(x, target))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                m.insert(text(k)?, render_value(x, target)?);
            }
            Value::Object(m)
        }
        other => other.clone(),
    })
}

/// The templates of a request, each with what it is (for messages).
fn templates<'a>(
    url: &'a str,
    headers: &'a [(String, String)],
    body: Option<&'a str>,
) -> Vec<(String, String)> {
    let mut out = vec![("the URL".to_string(), url.to_string())];
    for (k, v) in headers {
        out.push((format!("header `{k}`"), v.clone()));
    }
    if let Some(body) = body {
        match json_body(body) {
            Some(v) => {
                let mut s = Vec::new();
                strings(&v, &mut s);
                out.extend(s.into_iter().map(|s| ("the body".to_string(), s)));
            }
            None => out.push(("the body".to_string(), body.to_string())),
        }
    }
    out
}

/// Checks every template of a request (before any host starts).
pub(crate) fn check(
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<(), HttpTemplateError> {
    for (what, t) in templates(url, headers, body) {
        Template::parse(&t).map_err(|error| HttpTemplateError::Parse { what, error })?;
    }
    Ok(())
}

/// Whether no template of the request has a placeholder.
pub(crate) fn is_constant(url: &str, headers: &[(String, String)], body: Option<&str>) -> bool {
    templates(url, headers, body)
        .iter()
        .all(|(_, t)| Template::parse(t).is_ok_and(|t| t.is_constant()))
}

/// A rendered request: URL, headers, body.
pub(crate) type Rendered = (String, Vec<(String, String)>, Option<String>);

/// The request as sent to `target`.
pub(crate) fn render(
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    target: &Target,
) -> Result<Rendered, HttpTemplateError> {
    let one = |what: String, t: &str| -> Result<String, HttpTemplateError> {
        let t = Template::parse(t).map_err(|error| HttpTemplateError::Parse { what, error })?;
        Ok(t.render(target)?)
    };
    let url = one("the URL".into(), url)?;
    let headers = headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), one(format!("header `{k}`"), v)?)))
        .collect::<Result<Vec<_>, HttpTemplateError>>()?;
    let body = match body {
        None => None,
        Some(b) => Some(match json_body(b) {
            Some(v) => serde_json::to_string(&render_value(&v, target)?).unwrap_or_default(),
            None => one("the body".into(), b)?,
        }),
    };
    Ok((url, headers, body))
}

/// Whether `body` is JSON (sent with `Content-Type: application/json`
/// unless a header says otherwise).
pub fn is_json_body(body: &str) -> bool {
    json_body(body).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        let mut t = Target::new("r1", "127.0.0.9");
        t.vars.insert("http_port".into(), "8443".into());
        t.vars.insert("quote".into(), "a\"b".into());
        t
    }

    #[test]
    fn url_headers_and_json_body_strings_are_rendered() {
        let headers = vec![("X-Site".to_string(), "{name}".to_string())];
        let body = r#"{"cmds": ["show version"], "name": "{name}-{vars.quote}"}"#;
        let (url, h, b) = render(
            "https://{host}:{vars.http_port}/x",
            &headers,
            Some(body),
            &target(),
        )
        .unwrap();
        assert_eq!(url, "https://127.0.0.9:8443/x");
        assert_eq!(h, vec![("X-Site".to_string(), "r1".to_string())]);
        let v: Value = serde_json::from_str(&b.unwrap()).unwrap();
        assert_eq!(v["name"], "r1-a\"b", "re-encoded, never broken");
        assert_eq!(v["cmds"][0], "show version");
        assert!(!is_constant("https://{host}/", &[], None));
        assert!(is_constant("https://h/", &[], Some(r#"{"a": 1}"#)));
    }

    #[test]
    fn unknown_placeholders_are_located_and_missing_vars_name_the_host() {
        let e = check("https://{hots}/", &[], None).unwrap_err().to_string();
        assert!(
            e.starts_with("the URL: in `https://{hots}/` at character 9"),
            "{e}"
        );
        let e = check("https://h/", &[], Some(r#"{"a": "{bogus}"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("the body: in `{bogus}`"), "{e}");
        let e = render("https://{vars.nope}/", &[], None, &target())
            .unwrap_err()
            .to_string();
        assert!(e.contains("host `r1` has no variable `nope`"), "{e}");
        assert_eq!("patch".parse(), Ok(HttpMethod::Patch));
        assert!("FETCH".parse::<HttpMethod>().is_err());
    }
}
