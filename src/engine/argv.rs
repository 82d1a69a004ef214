//! A command's arguments as a `Command` event records them. Every node records one such event
//! per command it runs, and the simulator keeps them all for time travel: a pipeline of a
//! thousand SETs on a master with three replicas is four thousand events. Packing the
//! arguments into one allocation (instead of a `Vec` of `String`s) is what keeps recording
//! them cheap. They are shown and serialised as a list of (lossily decoded) strings.

use std::borrow::Cow;
use std::fmt;

use serde::de::Deserializer;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// The arguments, each stored as a little-endian `u64` length followed by its bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Argv(Box<[u8]>);

impl Argv {
    pub fn new<A: AsRef<[u8]>>(args: &[A]) -> Argv {
        let len = args.iter().map(|a| 8 + a.as_ref().len()).sum();
        let mut packed = Vec::with_capacity(len);
        for arg in args {
            let arg = arg.as_ref();
            packed.extend_from_slice(&(arg.len() as u64).to_le_bytes());
            packed.extend_from_slice(arg);
        }
        Argv(packed.into_boxed_slice())
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<8>()?;
            let (arg, tail) = tail.split_at(u64::from_le_bytes(*len) as usize);
            rest = tail;
            Some(arg)
        })
    }

    /// The arguments as text (invalid UTF-8 replaced), for display.
    pub fn strings(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.iter().map(String::from_utf8_lossy)
    }

    /// Bytes of the packed arguments (what recording one costs, for memory budgets).
    pub fn packed_len(&self) -> usize {
        self.0.len()
    }

    /// The first argument, the command name as the client wrote it.
    pub fn name(&self) -> Cow<'_, str> {
        self.strings().next().unwrap_or_default()
    }
}

/// Space-separated, as a log line shows a command.
impl fmt::Display for Argv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.strings().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&arg)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Argv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.strings()).finish()
    }
}

impl Serialize for Argv {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for arg in self.strings() {
            seq.serialize_element(&arg)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let args = Vec::<String>::deserialize(deserializer)?;
        Ok(Argv::new(&args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip_including_empty_and_binary_ones() {
        let args: Vec<Vec<u8>> = vec![b"SET".to_vec(), Vec::new(), vec![0xff, b'k']];
        let argv = Argv::new(&args);
        assert_eq!(argv.iter().collect::<Vec<_>>(), args);
        assert_eq!(argv.name(), "SET");
        assert_eq!(argv.to_string(), "SET  \u{fffd}k");
        assert_eq!(Argv::new::<&[u8]>(&[]).iter().count(), 0);
    }

    #[test]
    fn serialised_as_a_list_of_strings() {
        let argv = Argv::new(&["SET", "k", "v"]);
        let json = serde_json::to_string(&argv).unwrap();
        assert_eq!(json, r#"["SET","k","v"]"#);
        assert_eq!(serde_json::from_str::<Argv>(&json).unwrap(), argv);
    }
}
