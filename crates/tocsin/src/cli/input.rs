//! Reading what a person gives the command line: times, flag values read
//! as the server's types (by their wire names; an enumeration's values
//! listed in the help, see [`wire`]), texts from a flag, a file or
//! standard input, JSON files (errors name the field), passwords and
//! secrets. A leaf: it imports no other command module.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::{IsTerminal, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer, Visitor};
use tocsin_domain::Timestamp;

/// The wire names of an enumeration's values, as its `Deserialize` lists
/// them (`Role`: collector, analyst, ...); empty for a type that is not an
/// enumeration.
pub fn wire_names<T: DeserializeOwned>() -> &'static [&'static str] {
    /// A deserializer that only notes the variants it is asked for.
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = ValueError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
            Err(serde::de::Error::custom("not an enumeration"))
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, ValueError> {
            *self.0 = variants;
            Err(serde::de::Error::custom("only looking"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut names));
    names
}

/// A clap value parser for an enumeration of the server's types: its
/// values are listed in the help and checked by clap (a usage error naming
/// them), then read as the server reads them.
pub fn wire<T>() -> Wire<T> {
    Wire(PhantomData)
}

/// See [`wire`].
pub struct Wire<T>(PhantomData<fn() -> T>);

impl<T> Clone for Wire<T> {
    fn clone(&self) -> Self {
        Wire(PhantomData)
    }
}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> TypedValueParser for Wire<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let name = PossibleValuesParser::new(wire_names::<T>()).parse_ref(cmd, arg, value)?;
        let de: StrDeserializer<'_, ValueError> = name.as_str().into_deserializer();
        T::deserialize(de).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{name}: {e}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            wire_names::<T>().iter().map(|n| PossibleValue::new(*n)),
        ))
    }
}

/// A time given on the command line (`what` names the flag).
pub fn parse_time(what: &str, s: &str) -> Result<Timestamp> {
    s.parse::<Timestamp>()
        .map_err(|e| anyhow!("{what}: '{s}' is not an RFC 3339 time with an offset, e.g. 2024-03-07T11:15:00+03:00 ({e})"))
}

/// The value of `--flag` read as `T` from its wire form, with the checks
/// `T` makes when the server reads it.
pub fn parse_flag<T: DeserializeOwned>(flag: &str, s: &str) -> Result<T> {
    let de: StrDeserializer<'_, ValueError> = s.into_deserializer();
    T::deserialize(de).map_err(|e| anyhow!("--{flag} {s}: {e}"))
}

/// The values of a repeated (or comma-separated) `--flag`.
pub fn parse_flags<T: DeserializeOwned + Ord>(
    flag: &str,
    values: &[String],
) -> Result<BTreeSet<T>> {
    values.iter().map(|v| parse_flag(flag, v)).collect()
}

/// An optional `--flag`.
pub fn parse_opt<T: DeserializeOwned>(flag: &str, s: Option<&str>) -> Result<Option<T>> {
    s.map(|s| parse_flag(flag, s)).transpose()
}

/// A text given with `--text` or `--file`.
#[derive(Args)]
pub struct TextArgs {
    /// The text.
    #[arg(long, conflicts_with = "file")]
    text: Option<String>,
    /// A file with the exact text (`-` for standard input).
    #[arg(long)]
    file: Option<PathBuf>,
}

impl TextArgs {
    pub fn read(&self) -> Result<String> {
        match (&self.text, &self.file) {
            (Some(t), None) => Ok(t.clone()),
            (None, Some(p)) => read_input(p),
            _ => bail!("give the text with --text TEXT or --file FILE"),
        }
    }
}

/// The text of a file, or of standard input for `-`.
pub fn read_input(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// A JSON document read as `T`, with the path of the failing field in the error.
pub fn from_json_with_path<T: DeserializeOwned>(raw: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let t = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| anyhow!("{}: {}", e.path(), e.inner()))?;
    de.end().map_err(|e| anyhow!("{e}"))?;
    Ok(t)
}

/// One line of standard input, without its line ending (a password or a
/// secret given with `--...-stdin`).
pub fn read_line() -> Result<String> {
    let mut s = String::new();
    std::io::stdin().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

/// A password: from standard input, `TOCSIN_PASSWORD`, a prompt, or (when
/// allowed) generated; the flag says whether it was generated.
pub fn read_password(from_stdin: bool, prompt: &str, may_generate: bool) -> Result<(String, bool)> {
    if from_stdin {
        return Ok((read_line()?, false));
    }
    if let Ok(p) = std::env::var("TOCSIN_PASSWORD") {
        return Ok((p, false));
    }
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password(prompt)?;
        if may_generate {
            let b = rpassword::prompt_password("again: ")?;
            if a != b {
                bail!("the two passwords differ");
            }
        }
        return Ok((a, false));
    }
    if may_generate {
        let mut b = [0u8; 18];
        getrandom::fill(&mut b).map_err(|e| anyhow!("no OS randomness: {e}"))?;
        return Ok((
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
            true,
        ));
    }
    bail!("no password: use --password-stdin, TOCSIN_PASSWORD or a terminal")
}

#[cfg(test)]
mod tests {
    use tocsin_domain::Role;
    use tocsin_domain::delivery::Channel;

    use super::*;

    #[test]
    fn an_enumeration_lists_its_wire_names_and_parses_them() {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(wire_names::<Role>(), roles.as_slice());
        assert!(wire_names::<Channel>().contains(&"protecting_power"));
        // Not an enumeration: nothing to list.
        assert!(wire_names::<String>().is_empty());
        let cmd = clap::Command::new("t");
        let parse = |s: &str| wire::<Role>().parse_ref(&cmd, None, OsStr::new(s));
        assert_eq!(parse("delivery_officer").unwrap(), Role::DeliveryOfficer);
        let err = parse("wizard").unwrap_err().to_string();
        assert!(
            err.contains("wizard") && err.contains("delivery_officer"),
            "{err}"
        );
    }
}
