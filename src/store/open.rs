//! Opening the store (sled without a periodic flusher, the folder synced, the trees opened, the
//! audit chain and sequences read back, the writer thread started) and closing it (the last
//! handle stops the writer after the queued commits are answered, then flushes).

use std::path::Path;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::stats::SharedStats;
use super::trees::Trees;
use super::{durable, writer, Store, StoreConfig, StoreError};

impl Store {
    /// Opens (or creates) the store in folder `path` and starts its writer thread.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let db = open_db(path)?;
        durable::sync_dir(path)?;
        let (queue, requests) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(SharedStats::default());
        let trees = Arc::new(Trees::open(&db)?);
        let audit = writer::AuditState::load(&trees)?;
        let last = trees
            .events
            .last()?
            .and_then(|(k, _)| <[u8; 8]>::try_from(k.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        let (published_tx, published) = watch::channel(last);
        // Every row on file now is on disk; every later one gets a higher sequence.
        let (outbox_tx, outbox_written) = watch::channel(db.generate_id()?);
        let handle = writer::start(
            writer::Writer {
                db: db.clone(),
                trees: trees.clone(),
                path: path.to_owned(),
                config,
                stats: stats.clone(),
                published: published_tx,
                outbox_written: outbox_tx,
                failed: std::sync::atomic::AtomicBool::new(false),
                audit: std::cell::Cell::new(audit),
            },
            requests,
        )?;
        Ok(Store {
            db,
            queue,
            stats,
            trees,
            published,
            outbox_written,
            config,
            path: path.to_owned(),
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// Closes this handle. The last handle to close stops the writer once the commits queued
    /// before are answered, flushes and releases the folder.
    pub fn close(self) -> Result<(), StoreError> {
        let Store {
            db, queue, writer, ..
        } = self;
        drop(queue);
        if let Ok(writer) = Arc::try_unwrap(writer) {
            let handle = writer.into_inner().ok().flatten();
            if let Some(handle) = handle {
                let _ = handle.join();
            }
            db.flush()?;
        }
        Ok(())
    }
}

/// How long `open` waits for the folder's lock: sled releases it only when the last of its
/// objects is dropped, which after a close in the same process can lag (sled's own tests block
/// on the lock for the same reason). Another process holding the folder still fails.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens sled in `path` without a periodic flusher: every write reaches the file in the
/// writer's own flush, which it follows with an fsync before any acknowledgement.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(path).flush_every_ms(None).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return Ok(result?),
        }
    }
}
