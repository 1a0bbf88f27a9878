//! The draining switch: off while the server runs, turned on once when shutdown begins (it
//! never turns off again). The layer reads it to refuse new calls and to end health `Watch`
//! streams; the shutdown sequence turns it on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

/// Turns on when shutdown begins; shared by the gate and the shutdown sequence.
#[derive(Debug, Clone)]
pub struct Draining {
    on: Arc<AtomicBool>,
    wake: Arc<watch::Sender<bool>>,
}

impl Default for Draining {
    fn default() -> Draining {
        Draining {
            on: Arc::default(),
            wake: Arc::new(watch::channel(false).0),
        }
    }
}

impl Draining {
    /// From now on, new calls are refused and health `Watch` streams end.
    pub fn begin(&self) {
        self.on.store(true, Ordering::Relaxed);
        self.wake.send_replace(true);
    }

    pub(super) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Completes when draining begins.
    pub(super) fn begun(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut on = self.wake.subscribe();
        Box::pin(async move {
            let _ = on.wait_for(|on| *on).await;
        })
    }
}
