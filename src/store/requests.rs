//! The handle's requests to the writer thread: a commit (answered once on disk), a call's audit
//! record (not waited for) and an audit purge. Each goes through the writer's one queue, in the
//! order it is sent.

use tokio::sync::{mpsc, oneshot};

use super::{writer, Accepted, Committed, Store, StoreError};

impl Store {
    /// Commits `event` and answers once it is on disk (or is a repeat or a conflict).
    pub async fn commit(&self, event: Accepted) -> Result<Committed, StoreError> {
        let started = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(writer::Request::Commit { event, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        let answer = answer.await.map_err(|_| StoreError::Closed)?;
        crate::telemetry::count::commit(started.elapsed());
        answer
    }

    /// Queues an audit record that stands alone (a call's) without waiting for it: it is
    /// written, and chained, with the writer's next group. When the queue is full the record
    /// waits for room on a task of its own.
    pub fn audit_call(&self, facts: crate::audit::Facts) {
        let request = writer::Request::Audit(Box::new(facts));
        match self.queue.try_send(request) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(request)) => {
                let queue = self.queue.clone();
                tokio::spawn(async move {
                    let _ = queue.send(request).await;
                });
            }
        }
    }

    /// Removes up to `limit` audit records written before `before_unix_ms`, oldest first,
    /// leaving a checkpoint and a record of the purge (see [`crate::audit::purge`]).
    pub async fn purge_audit(
        &self,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<crate::audit::Purged, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = writer::Request::PurgeAudit {
            before_unix_ms,
            limit,
            reply,
        };
        self.queue
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}
