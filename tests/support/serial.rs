//! For tests that start processes or load the machine: one at a time within a test binary,
//! each on its own two-thread runtime.

use std::sync::{Mutex, MutexGuard};

/// Held for the whole test: the tests of one binary run one after the other.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A multi-threaded runtime with two workers (the CI machine has two cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
