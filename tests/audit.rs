//! The hash-chained audit log on a real store on disk: every commit leaves a record chained
//! to the one before; a record changed or taken out behind the store's back (raw sled) is
//! reported at its seq, by the library and by `single-window audit verify`; a purge keeps
//! what remains verifiable from its checkpoint (and refuses to purge a broken chain); records
//! taken from the end are reported at the chain's head, also after a restart; a restart
//! continues the chain.

use std::path::Path;
use std::time::Duration;

use single_window::audit::{self, Break, Record};
use single_window::cli;
use single_window::store::{
    content_hash, Accepted, Committed, Store, StoreConfig, StoreError, Tree,
};

fn event(n: u32) -> Accepted {
    let key = format!("guid-{n}");
    Accepted {
        sender: "3301960001".to_owned(),
        key: key.clone(),
        content: content_hash(key.as_bytes()),
        reply: Vec::new(),
        puts: vec![(Tree::Declarations, key.clone().into_bytes(), b"x".to_vec())],
        outbox: Vec::new(),
        audit: format!("{key} accepted").into_bytes(),
        fold: None,
    }
}

async fn commit_all(store: &Store, numbers: std::ops::Range<u32>) -> Vec<u64> {
    let commits = numbers.map(|n| store.commit(event(n)));
    futures_util::future::join_all(commits)
        .await
        .into_iter()
        .map(|c| match c.unwrap() {
            Committed::New { seq, .. } => seq,
            other => panic!("not written: {other:?}"),
        })
        .collect()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, StoreConfig::default()).unwrap()
}

/// The store's sled database opened directly, as someone tampering with the files would
/// (waits for the lock that a closed store releases a little later).
fn raw(dir: &Path) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e) if started.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn tamper(dir: &Path, change: impl FnOnce(&sled::Tree)) {
    let db = raw(dir);
    change(&db.open_tree("audit").unwrap());
    db.flush().unwrap();
}

fn cli_verify(dir: &Path) -> (i32, String) {
    let mut out = Vec::new();
    let code = cli::audit::verify(dir, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn records_chain_and_verify_with_their_facts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let seqs = commit_all(&store, 0..20).await;
    let verified = audit::verify_store(&store).unwrap();
    assert_eq!((verified.entries, verified.broken.clone()), (20, None));
    assert_eq!(verified.tip.seq, seqs.iter().max().copied());
    assert_eq!(verified.head.map(|head| head.tip()), Some(verified.tip));
    let (seq, bytes) = store.audit_entries().next().unwrap().unwrap();
    let record = Record::from_bytes(&bytes).unwrap();
    assert_eq!(record.seq, seq);
    assert_eq!(record.facts.enterprise.as_deref(), Some("3301960001"));
    assert!(record
        .facts
        .message_id
        .as_deref()
        .unwrap()
        .starts_with("guid-"));
    assert_eq!(record.facts.outcome.as_deref(), Some("accepted"));
    assert!(record.facts.note.ends_with("accepted"));
    assert!(record.at_unix_ms > 0);
    store.close().unwrap();
    let (code, out) = cli_verify(dir.path());
    assert_eq!(code, cli::audit::EXIT_OK, "{out}");
    assert!(
        out.starts_with("audit log OK: 20 records verified from the first record"),
        "{out}"
    );
    let last = verified.tip.seq.unwrap();
    assert!(
        out.contains(&format!("it passes through its head at seq {last}")),
        "{out}"
    );
}

#[tokio::test]
async fn a_changed_record_is_reported_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let seqs = commit_all(&store, 0..10).await;
    store.close().unwrap();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    let victim = sorted[4];
    tamper(dir.path(), |tree| {
        let bytes = tree.get(victim.to_be_bytes()).unwrap().unwrap();
        let mut record = Record::from_bytes(&bytes).unwrap();
        record.facts.note = "guid-4 rejected".to_owned();
        tree.insert(victim.to_be_bytes(), record.to_bytes())
            .unwrap();
    });
    let (code, out) = cli_verify(dir.path());
    assert_eq!(code, cli::audit::EXIT_BROKEN, "{out}");
    assert!(
        out.contains(&format!("seq {victim}: record altered")),
        "{out}"
    );
    assert!(out.contains("4 records verified before it"), "{out}");

    let store = open(dir.path());
    let broken = audit::verify_store(&store).unwrap().broken.unwrap();
    assert_eq!((broken.seq, broken.why), (victim, Break::Altered));
    // A broken chain is not purged away.
    let purged = audit::purge(&store, Duration::ZERO).await;
    assert!(matches!(purged, Err(StoreError::Corrupt(_))), "{purged:?}");
    assert_eq!(store.audit_entries().count(), 10);
    store.close().unwrap();
}

#[tokio::test]
async fn a_deleted_record_is_reported_at_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut seqs = commit_all(&store, 0..10).await;
    store.close().unwrap();
    seqs.sort_unstable();
    tamper(dir.path(), |tree| {
        tree.remove(seqs[6].to_be_bytes()).unwrap();
    });
    let (code, out) = cli_verify(dir.path());
    assert_eq!(code, cli::audit::EXIT_BROKEN, "{out}");
    assert!(
        out.contains(&format!("seq {}: chain broken", seqs[7])),
        "{out}"
    );
    assert!(out.contains(&format!("(of seq {})", seqs[6])), "{out}");

    let store = open(dir.path());
    let broken = audit::verify_store(&store).unwrap().broken.unwrap();
    assert_eq!(broken.seq, seqs[7]);
    assert_eq!(
        broken.why,
        Break::Unlinked {
            previous_on_file: Some(seqs[5]),
            recorded_previous: Some(seqs[6]),
        }
    );
    store.close().unwrap();
}

#[tokio::test]
async fn records_taken_from_the_end_are_reported_at_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    commit_all(&store, 0..10).await;
    store.close().unwrap();
    // The last two records on file, whatever they record.
    let mut removed = Vec::new();
    tamper(dir.path(), |tree| {
        for _ in 0..2 {
            let (key, _) = tree.pop_max().unwrap().unwrap();
            removed.push(u64::from_be_bytes(key.as_ref().try_into().unwrap()));
        }
    });
    let (head, second_removed) = (removed[0], removed[1]);
    let (code, out) = cli_verify(dir.path());
    assert_eq!(code, cli::audit::EXIT_BROKEN, "{out}");
    assert!(
        out.contains(&format!(
            "seq {head}: records missing at the end, up to the head (hash "
        )),
        "{out}"
    );

    // A restart does not hide it: the next record links to the head, not to what is left.
    let store = open(dir.path());
    commit_all(&store, 10..12).await;
    let broken = audit::verify_store(&store).unwrap().broken.unwrap();
    assert!(broken.seq > head, "{broken}");
    assert_eq!(
        broken.why,
        Break::Unlinked {
            previous_on_file: Some(seqs_before(&store, broken.seq)),
            recorded_previous: Some(head),
        }
    );
    assert!(seqs_before(&store, broken.seq) < second_removed);
    store.close().unwrap();
}

/// The seq of the record on file just before `seq`.
fn seqs_before(store: &Store, seq: u64) -> u64 {
    store
        .audit_entries()
        .map(|entry| entry.unwrap().0)
        .take_while(|&s| s < seq)
        .last()
        .unwrap()
}

#[tokio::test]
async fn a_purge_leaves_a_checkpoint_the_rest_verifies_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = commit_all(&store, 0..30).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let boundary = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let recent = commit_all(&store, 30..40).await;

    // Records written before the boundary go, in batches of at most 7.
    let before = u64::try_from(boundary).unwrap();
    let mut removed = 0;
    loop {
        let round = store.purge_audit(before, 7).await.unwrap();
        if round.removed == 0 {
            break;
        }
        assert!(round.removed <= 7);
        removed += round.removed;
    }
    assert_eq!(removed, 30);
    let checkpoint = store.audit_checkpoint().unwrap().unwrap();
    assert_eq!(checkpoint.seq, old.iter().copied().max().unwrap());
    assert_eq!(checkpoint.purged, 30);
    let verified = audit::verify_store(&store).unwrap();
    // The recent records and one record per purge batch (5 batches of 30).
    assert_eq!((verified.entries, verified.broken), (10 + 5, None));
    let purges: Vec<Record> = store
        .audit_entries()
        .map(|r| Record::from_bytes(&r.unwrap().1).unwrap())
        .filter(|r| r.facts.outcome.as_deref() == Some("purged"))
        .collect();
    assert_eq!(purges.len(), 5);
    assert_eq!(purges[0].facts.enterprise.as_deref(), Some("gateway:audit"));
    assert!(recent
        .iter()
        .all(|s| store.audit_entries().any(|r| r.unwrap().0 == *s)));

    // Commits go on chaining after a purge; everything older than now goes too.
    commit_all(&store, 40..45).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let purged = audit::purge(&store, Duration::ZERO).await.unwrap();
    assert_eq!(purged.removed, 10 + 5 + 5);
    let verified = audit::verify_store(&store).unwrap();
    assert_eq!((verified.entries, verified.broken), (1, None));
    store.close().unwrap();
    let (code, out) = cli_verify(dir.path());
    assert_eq!(code, cli::audit::EXIT_OK, "{out}");
    assert!(
        out.contains("1 records verified from the checkpoint at seq"),
        "{out}"
    );
    assert!(out.contains("50 records purged"), "{out}");
}

#[tokio::test]
async fn a_restart_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = commit_all(&store, 0..5).await;
    store.close().unwrap();
    let store = open(dir.path());
    let second = commit_all(&store, 5..10).await;
    let verified = audit::verify_store(&store).unwrap();
    assert_eq!((verified.entries, verified.broken), (10, None));
    let resumed = second.iter().copied().min().unwrap();
    let bytes = store
        .audit_entries()
        .map(Result::unwrap)
        .find(|(seq, _)| *seq == resumed)
        .unwrap()
        .1;
    let record = Record::from_bytes(&bytes).unwrap();
    assert_eq!(record.prev_seq, first.iter().copied().max());
    // A purge, then a restart: the chain goes on from the tip, verified from the checkpoint.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        audit::purge(&store, Duration::ZERO).await.unwrap().removed,
        10
    );
    store.close().unwrap();
    let store = open(dir.path());
    commit_all(&store, 10..13).await;
    let verified = audit::verify_store(&store).unwrap();
    assert_eq!((verified.entries, verified.broken), (1 + 3, None));
    store.close().unwrap();
}

#[test]
fn verify_refuses_a_folder_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = cli_verify(&dir.path().join("nothing"));
    assert_eq!(code, cli::audit::EXIT_UNUSABLE, "{out}");
    assert!(!dir.path().join("nothing").exists());
}
