//! The audit record of every call (health checks excepted): when, from where (IP and port),
//! with which certificate, as whom, with which user agent, for which message, and how it
//! ended (the gRPC code; a refusal's reason as the note). Written through the store's writer,
//! so the records are hash-chained with the events; queued without waiting, so a call is not
//! slowed by its own record.
//!
//! Handlers name the call's message (a submission's guid, a receipt's message id, a shipment,
//! a dead letter) through the [`CallNote`] in the request's extensions.

use std::sync::{Arc, Mutex, PoisonError};

use tonic::Code;

use super::identify::Peer;
use crate::audit::Facts;
use crate::auth::Caller;
use crate::store::Store;

/// Longest user agent kept in a record, characters.
const USER_AGENT_CHARS: usize = 200;
/// Longest refusal reason kept in a record, characters.
const REASON_CHARS: usize = 500;
/// Longest message id kept in a record, characters.
const MESSAGE_ID_CHARS: usize = 300;

/// What a handler adds to its call's record; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct CallNote {
    inner: Arc<Mutex<Noted>>,
}

#[derive(Debug, Default)]
struct Noted {
    message_id: Option<String>,
    reason: Option<String>,
}

impl CallNote {
    /// Names the call's message; a stream's later messages are added after a space, up to
    /// [`MESSAGE_ID_CHARS`] in all.
    pub fn message_id(&self, id: &str) {
        if id.is_empty() {
            return;
        }
        let mut noted = self.lock();
        let ids = match noted.message_id.take() {
            Some(ids) => format!("{ids} {id}"),
            None => id.to_owned(),
        };
        noted.message_id = Some(clip(&ids, MESSAGE_ID_CHARS));
    }

    /// Why the call was refused.
    pub fn reason(&self, reason: &str) {
        self.lock().reason = Some(clip(reason, REASON_CHARS));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Noted> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The record of one call, written when it ends.
pub struct CallAudit {
    store: Store,
    facts: Facts,
    note: CallNote,
}

impl std::fmt::Debug for CallAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallAudit")
            .field("facts", &self.facts)
            .finish()
    }
}

impl CallAudit {
    /// Begins the record of a call of `method` from `peer`.
    pub fn begin<B>(store: Store, method: &str, peer: &Peer, request: &http::Request<B>) -> Self {
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .map(|v| clip(&String::from_utf8_lossy(v.as_bytes()), USER_AGENT_CHARS));
        CallAudit {
            store,
            facts: Facts {
                method: Some(method.to_owned()),
                source_ip: peer.addr.map(|a| a.ip().to_string()),
                source_port: peer.addr.map(|a| a.port()),
                cert_fingerprint: peer.fingerprint.map(|f| crate::hex::encode(&f)),
                user_agent,
                ..Facts::default()
            },
            note: CallNote::default(),
        }
    }

    /// Who the caller turned out to be.
    pub fn caller(&mut self, caller: &Caller) {
        self.facts.caller = Some(caller.describe());
        self.facts.enterprise = caller.enterprise().map(str::to_owned);
    }

    /// The note its handler writes to.
    pub fn note(&self) -> CallNote {
        self.note.clone()
    }

    /// The call ended with `code`: the record is queued.
    pub fn end(self, code: Code) {
        let CallAudit {
            store,
            mut facts,
            note,
        } = self;
        let noted = std::mem::take(&mut *note.lock());
        facts.message_id = noted.message_id;
        facts.outcome = Some(super::observe::code_name(code).to_owned());
        if let Some(reason) = noted.reason {
            facts.note = reason;
        }
        if facts.caller.is_none() {
            facts.caller = facts
                .cert_fingerprint
                .as_ref()
                .map(|f| format!("certificate {f}"));
        }
        store.audit_call(facts);
    }
}

fn clip(text: &str, chars: usize) -> String {
    crate::text::first_chars(text, chars).to_owned()
}
