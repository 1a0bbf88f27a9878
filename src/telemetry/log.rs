//! Logs: one `tracing` subscriber per process, writing to stderr as text (for people) or JSON
//! (one object per line), filtered by config `[log] level` (a `tracing` filter: a level such as
//! `debug`, or directives such as `info,single_window::dispatch=debug`).
//!
//! Personal data never reaches a log line. What the gateway logs, by design: request spans
//! (method, shipment key), gRPC status codes, delivery spans (agency, message id, shipment key,
//! attempt), agencies' and the store's error texts, addresses and paths of the process. It
//! never logs a declaration, a violation's value or message, or a status message it sends
//! (those may quote a buyer's name or address). Behind that, every line goes through
//! [`super::mask::scrub`] before it is written, which masks identity and mobile numbers
//! whatever wrote them (a dependency, an agency's error text).

use std::io::{self, IsTerminal as _, Write};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use super::mask;
use crate::config::{Log, LogFormat};

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `[log] level` is not a `tracing` filter.
    #[error("log level {level:?}: {source}")]
    Filter {
        /// As configured.
        level: String,
        /// What is wrong with it.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A subscriber was installed before.
    #[error("logging was set up before: {0}")]
    Installed(String),
}

/// Installs the process's subscriber as `config` says: stderr, text or JSON, masked.
pub fn init(config: &Log) -> Result<(), LogError> {
    let filter = EnvFilter::try_new(&config.level).map_err(|source| LogError::Filter {
        level: config.level.clone(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MaskedStderr);
    let installed = match config.format {
        LogFormat::Text => builder.with_ansi(io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| LogError::Installed(e.to_string()))
}

/// Makes writers to stderr that mask every line ([`mask::scrub`]) before writing it.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaskedStderr;

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = Masked<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Masked(io::stderr())
    }
}

/// A writer that masks what it is given before passing it on. The formatter hands it one whole
/// line per write, so a number is never split across two writes.
#[derive(Debug)]
pub struct Masked<W>(pub W);

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&mask::scrub(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_masks_whole_lines() {
        let mut out = Masked(Vec::new());
        out.write_all("buyer 33010619900101123X tel 13800138000\n".as_bytes())
            .unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "buyer 330**************X tel *******8000\n"
        );
    }

    #[test]
    fn a_bad_level_is_refused_by_name() {
        let config = Log {
            level: "info,=[".to_owned(),
            format: LogFormat::Text,
        };
        let err = init(&config).unwrap_err();
        assert!(err.to_string().contains("info,=["), "{err}");
    }
}
