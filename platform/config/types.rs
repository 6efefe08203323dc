//! Validated newtypes shared by the experiment model: ids, completion codes, URLs.
//!
//! Each carries its rule twice on purpose: as a JSON-Schema `pattern` (so editors flag
//! it as the researcher types) and as a `TryFrom<String>` check (so the typed model can
//! never hold an invalid value, whatever path built it).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Pattern of [`Slug`]: URL-safe, lowercase, starts with a letter or digit.
pub const SLUG_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";
/// Pattern of [`CompletionCode`].
pub const CODE_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// Pattern of [`HttpUrl`]: absolute http(s), no whitespace.
pub const URL_PATTERN: &str = "^https?://[^\\s]+$";

/// Pattern of an environment variable name.
pub const ENV_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";

/// Pattern of [`AttributeRef`].
pub const ATTRIBUTE_PATTERN: &str =
    "^(param:[A-Za-z0-9_.-]{1,64}|answer:[a-z0-9][a-z0-9_-]{0,63}\\.[a-z0-9][a-z0-9_-]{0,63})$";

/// Human wording of each pattern, used when a value does not match it.
pub const PATTERN_HINTS: &[(&str, &str)] = &[
    (
        SLUG_PATTERN,
        "must be 1-64 characters of lowercase letters, digits, `-` and `_`, starting with a letter or digit",
    ),
    (CODE_PATTERN, "must be 1-64 characters of letters, digits, `-` and `_`"),
    (URL_PATTERN, "must be an absolute http:// or https:// URL without spaces"),
    (ATTRIBUTE_PATTERN, "must be `param:<URL parameter>` or `answer:<scene id>.<question id>`"),
    (ENV_PATTERN, "must be an environment variable name: letters, digits and `_`, not starting with a digit"),
    (
        BONUS_FROM_PATTERN,
        "must be `<scene id>.<key>`: a key of the game's result in a multiplayer scene, or a question of a survey",
    ),
];

/// `recruitment.bonus.from`: `<scene id>.<key>`.
pub const BONUS_FROM_PATTERN: &str = r"^[a-z0-9_-]+\.[A-Za-z0-9_-]+$";

fn matches_slug(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn matches_code(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn matches_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(char::is_whitespace))
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $check:path, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                if $check(&value) {
                    Ok(Self(value))
                } else {
                    let hint = PATTERN_HINTS.iter().find(|(p, _)| *p == $pattern).map(|(_, h)| *h);
                    Err(format!("`{value}` {}", hint.unwrap_or("is malformed")))
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern, "description": $description })
            }
        }
    };
}

string_newtype!(
    /// A URL-safe identifier (experiment, scene, question, game).
    Slug,
    SLUG_PATTERN,
    matches_slug,
    "A URL-safe identifier: 1-64 lowercase letters, digits, `-` and `_`."
);

string_newtype!(
    /// A completion code shown to participants and checked by the recruitment panel.
    CompletionCode,
    CODE_PATTERN,
    matches_code,
    "A completion code: 1-64 letters, digits, `-` and `_`."
);

string_newtype!(
    /// An absolute http(s) URL, possibly with `{participant_id}` and `{completion_code}`
    /// placeholders.
    HttpUrl,
    URL_PATTERN,
    matches_url,
    "An absolute http(s) URL. `{participant_id}` and `{completion_code}` are replaced when participants are redirected (and, in an end scene, `{group_code}`: the code of their last group, for a later `reunion`); without `{participant_id}` the recruitment id is appended as a query parameter."
);

fn matches_attribute(s: &str) -> bool {
    if let Some(param) = s.strip_prefix("param:") {
        return (1..=64).contains(&param.len())
            && param.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    }
    s.strip_prefix("answer:")
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(scene, question)| matches_slug(scene) && matches_slug(question))
}

string_newtype!(
    /// What a matchmaking policy may see of a participant: a URL parameter or an
    /// earlier answer.
    AttributeRef,
    ATTRIBUTE_PATTERN,
    matches_attribute,
    "`param:<name>`: a URL parameter of the study link; `answer:<scene>.<question>`: an answer from an earlier survey. The attribute is named by the part after the colon."
);

/// Where an attribute comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeSource<'a> {
    Param(&'a str),
    Answer { scene: &'a str, question: &'a str },
}

impl AttributeRef {
    /// The attribute's name as policies see it (the part after the colon).
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, name)| name)
    }

    pub fn source(&self) -> AttributeSource<'_> {
        match self.0.split_once(':') {
            Some(("param", name)) => AttributeSource::Param(name),
            Some((_, rest)) => {
                let (scene, question) = rest.split_once('.').unwrap_or((rest, ""));
                AttributeSource::Answer { scene, question }
            }
            None => AttributeSource::Param(""),
        }
    }
}

/// Placeholders a redirect URL may contain.
pub const URL_PLACEHOLDERS: &[&str] = &["participant_id", "completion_code", "group_code"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        assert!(Slug::try_from("demo-2_x".to_owned()).is_ok());
        for bad in ["", "Demo", "-x", "a b", "é", &"a".repeat(65)] {
            assert!(Slug::try_from(bad.to_owned()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn url_and_code_rules() {
        assert!(HttpUrl::try_from("https://x.org/?cc={completion_code}".to_owned()).is_ok());
        assert!(HttpUrl::try_from("ftp://x".to_owned()).is_err());
        assert!(HttpUrl::try_from("https://a b".to_owned()).is_err());
        assert!(CompletionCode::try_from("C0DE_1".to_owned()).is_ok());
        assert!(CompletionCode::try_from("no spaces".to_owned()).is_err());
    }
}
