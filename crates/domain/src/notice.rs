//! Where escalation notices are sent: notice targets (an HTTP webhook, or
//! email addresses). (Over HTTP and in the ledger they keep their first
//! name, *notification target*: see ARCHITECTURE.md, Names.) A webhook's signing secret is never part of these
//! values (nor of the ledger); the service keeps it apart.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{Label, TextError};

/// A webhook address: `http://` or `https://`, at most 2,000 characters,
/// no spaces or control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s: String = s.into();
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err(TextError::Invalid(
                "a webhook URL starts with http:// or https://",
            ));
        }
        if s.len() > 2000 {
            return Err(TextError::TooLong {
                len: s.len(),
                max: 2000,
            });
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TextError::Invalid(
                "a webhook URL has no spaces or control characters",
            ));
        }
        let host = s.split("://").nth(1).unwrap_or("");
        if host.is_empty() || host.starts_with('/') {
            return Err(TextError::Invalid("a webhook URL names a host"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        Self::new(s)
    }
}
impl From<WebhookUrl> for String {
    fn from(v: WebhookUrl) -> String {
        v.0
    }
}
impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for WebhookUrl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WebhookUrl".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^https?://[^/\\s][^\\s]*$",
            "maxLength": 2000,
            "description": "An http:// or https:// URL.",
        })
    }
}

/// An email address (checked only for shape: one `@`, a dot in the domain,
/// no spaces, at most 254 characters).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s: String = s.into();
        let bad = || TextError::Invalid("not an email address (name@example.org)");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        Self::new(s)
    }
}
impl From<EmailAddress> for String {
    fn from(v: EmailAddress) -> String {
        v.0
    }
}
impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for EmailAddress {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EmailAddress".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
            "maxLength": 254,
        })
    }
}

/// How a target is reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "NotifyChannel")]
pub enum NoticeChannel {
    /// An HTTP POST of a JSON body, signed with HMAC-SHA256 in
    /// `X-Tocsin-Signature` when the target has a secret.
    Webhook { url: WebhookUrl },
    /// Email over the SMTP server the deployment is configured with.
    Email { to: Vec<EmailAddress> },
}

/// A named place escalations are sent to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NotificationTarget")]
pub struct NoticeTarget {
    pub name: Label,
    pub channel: NoticeChannel,
    /// Whether a webhook signing secret is on file (never the secret itself).
    #[serde(default)]
    pub signed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_addresses_are_checked() {
        assert!(WebhookUrl::new("https://hooks.example.org/tocsin").is_ok());
        assert!(WebhookUrl::new("ftp://x").is_err());
        assert!(WebhookUrl::new("http:///path").is_err());
        assert!(WebhookUrl::new("http://a b").is_err());
        assert!(EmailAddress::new("duty.officer@example.org").is_ok());
        for bad in ["nobody", "a@b", "@example.org", "a@@b.org", "a b@c.org"] {
            assert!(EmailAddress::new(bad).is_err(), "{bad}");
        }
    }
}
