//! The journal of a `submit` run, which makes it resumable: one JSON line per file the gateway
//! answered (its path, the SHA-256 of its content, the outcome), appended and synced as each
//! answer comes. A file whose path and hash are in it is not sent again; a file changed since
//! has another hash and is. Lines that do not parse (the torn end of an interrupted write) are
//! ignored: at worst that file is sent again and the gateway answers "repeat".

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tally::Blocks;

/// What the gateway answered for one file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file, as an absolute path where it can be resolved.
    pub path: String,
    /// SHA-256 of its content, lowercase hex.
    pub sha256: String,
    /// The message's guid, as the gateway named it ("" when it refused the file).
    #[serde(default)]
    pub id: String,
    /// Its blocks per outcome.
    #[serde(default)]
    pub blocks: Blocks,
    /// Why the gateway refused the whole file (it did not decode); "" when it answered
    /// block by block.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refused: String,
    /// When the answer came, Unix ms.
    #[serde(default)]
    pub at_unix_ms: u64,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    answered: HashMap<(String, String), Entry>,
    /// Lines that did not parse.
    pub unreadable_lines: usize,
}

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// It cannot be read, created or appended to.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl Journal {
    /// Reads the journal at `path` (none yet is an empty one) and opens it for appending.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(io(err)),
        };
        let (answered, unreadable_lines) = parse(&text);
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            answered,
            unreadable_lines,
        })
    }

    /// The answer on file for this content of this file, if any.
    pub fn answered(&self, path: &str, sha256: &str) -> Option<&Entry> {
        self.answered.get(&(path.to_owned(), sha256.to_owned()))
    }

    /// Appends `entry` and syncs it to disk.
    pub fn record(&mut self, entry: Entry) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(&entry).map_err(|e| io(e.into()))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.answered
            .insert((entry.path.clone(), entry.sha256.clone()), entry);
        Ok(())
    }
}

/// The key a file is journaled under: its absolute path when it resolves, else as given.
pub fn key_of(file: &Path) -> String {
    std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_owned())
        .display()
        .to_string()
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(bytes))
}

/// The entries of a journal's text by (path, hash), the last one winning, and the number of
/// lines that did not parse.
fn parse(text: &str) -> (HashMap<(String, String), Entry>, usize) {
    let mut answered = HashMap::new();
    let mut unreadable = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Entry>(line) {
            Ok(entry) => {
                answered.insert((entry.path.clone(), entry.sha256.clone()), entry);
            }
            Err(_) => unreadable += 1,
        }
    }
    (answered, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, sha256: &str, accepted: usize) -> Entry {
        Entry {
            path: path.into(),
            sha256: sha256.into(),
            id: String::new(),
            blocks: Blocks {
                accepted,
                ..Blocks::default()
            },
            refused: String::new(),
            at_unix_ms: 0,
        }
    }

    #[test]
    fn lines_are_keyed_by_path_and_hash_and_torn_lines_are_counted() {
        let lines = [
            serde_json::to_string(&entry("/a.xml", "11", 1)).unwrap(),
            serde_json::to_string(&entry("/a.xml", "22", 2)).unwrap(),
            serde_json::to_string(&entry("/a.xml", "11", 3)).unwrap(),
            "{\"path\":\"/b.xml\",\"sha".to_owned(),
        ];
        let (answered, unreadable) = parse(&lines.join("\n"));
        assert_eq!(answered.len(), 2);
        assert_eq!(answered[&("/a.xml".into(), "11".into())].blocks.accepted, 3);
        assert_eq!(answered[&("/a.xml".into(), "22".into())].blocks.accepted, 2);
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
