//! Making sled's writes durable for real. sled 0.34 ends a flush with `sync_file_range` on
//! Linux (no drive-cache flush, no metadata) and writes blob files without any sync; an
//! `fsync` of the same inode from our own descriptor covers what it left out.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Keeps descriptors on the store's files for fsync.
pub(super) struct Durable {
    data: File,
    blobs_dir: PathBuf,
    synced_blobs: HashSet<PathBuf>,
    /// fsync calls made, for the commits-per-fsync figure.
    pub fsyncs: u64,
}

impl Durable {
    pub fn open(path: &Path) -> std::io::Result<Durable> {
        Ok(Durable {
            data: File::open(path.join("db"))?,
            blobs_dir: path.join("blobs"),
            synced_blobs: HashSet::new(),
            fsyncs: 0,
        })
    }

    /// fsyncs the data file, and every blob file not yet synced (with their folder).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.data.sync_data()?;
        self.fsyncs += 1;
        let Ok(entries) = std::fs::read_dir(&self.blobs_dir) else {
            return Ok(());
        };
        let mut new_blob = false;
        for entry in entries.flatten() {
            let path = entry.path();
            if !self.synced_blobs.contains(&path) {
                File::open(&path)?.sync_all()?;
                self.synced_blobs.insert(path);
                new_blob = true;
            }
        }
        if new_blob {
            sync_dir(&self.blobs_dir)?;
        }
        Ok(())
    }
}

/// fsyncs a folder, so that the files created in it survive a crash.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}
