//! The store on a real sled folder: atomic events, idempotency across restarts, group commit,
//! an acknowledgement only after a real fsync (seen with strace), and no acknowledged event
//! lost when the writing process is killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use single_window::store::{content_hash, Accepted, Committed, Store, StoreConfig, Tree};

fn event(sender: &str, key: &str, body: &str) -> Accepted {
    Accepted {
        sender: sender.into(),
        key: key.into(),
        content: content_hash(body.as_bytes()),
        reply: format!("accepted {key}").into_bytes(),
        puts: vec![(
            Tree::Declarations,
            key.as_bytes().to_vec(),
            body.as_bytes().to_vec(),
        )],
        outbox: vec![("customs".to_owned(), format!("route {key}").into_bytes())],
        audit: format!("{sender} {key}").into_bytes(),
        fold: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_event_is_written_whole_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    {
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let outcome = rt
            .block_on(store.commit(event("E1", "g1", "order 1")))
            .unwrap();
        assert!(matches!(outcome, Committed::New { .. }));
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        store.get(Tree::Declarations, b"g1").unwrap(),
        Some(b"order 1".to_vec())
    );
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].0.starts_with(b"customs\0"), "{outbox:?}");
    assert_eq!(outbox[0].1, b"route g1".to_vec());
    assert_eq!(store.outbox_page("customs", &[], 10).unwrap(), outbox);
    assert!(store.outbox_page("tax", &[], 10).unwrap().is_empty());
    assert_eq!(store.audit().unwrap().len(), 1);
    assert_eq!(
        store.reply_of("E1", "g1").unwrap(),
        Some(b"accepted g1".to_vec())
    );
}

#[test]
fn idempotency_holds_across_restarts_and_is_scoped_to_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    {
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        rt.block_on(store.commit(event("E1", "g1", "order 1")))
            .unwrap();
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    // Same key, same content: the original reply, nothing new written.
    let again = rt
        .block_on(store.commit(event("E1", "g1", "order 1")))
        .unwrap();
    assert_eq!(
        again,
        Committed::Repeat {
            reply: b"accepted g1".to_vec()
        }
    );
    // Same key, other content: refused.
    let other = rt
        .block_on(store.commit(event("E1", "g1", "order 2")))
        .unwrap();
    assert_eq!(other, Committed::Conflict);
    assert_eq!(
        store.get(Tree::Declarations, b"g1").unwrap(),
        Some(b"order 1".to_vec())
    );
    // The same key from another sender is another event.
    let elsewhere = rt
        .block_on(store.commit(event("E2", "g1", "order 2")))
        .unwrap();
    assert!(matches!(elsewhere, Committed::New { .. }));
    assert_eq!(
        store.audit().unwrap().len(),
        2,
        "repeats and conflicts are not written"
    );
}

#[test]
fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let outcomes = rt.block_on(async {
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.commit(event("E1", &format!("g{i}"), "x")).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap().unwrap());
        }
        outcomes
    });
    assert!(outcomes.iter().all(|o| matches!(o, Committed::New { .. })));
    let stats = store.stats();
    assert_eq!(stats.commits, 400);
    assert!(stats.fsyncs >= 1 && stats.fsyncs < 400, "{stats:?}");
    eprintln!(
        "400 concurrent commits: {} fsyncs, {:.1} commits per fsync",
        stats.fsyncs,
        400.0 / stats.fsyncs as f64
    );
}

#[test]
fn large_payloads_are_chunked_and_joined() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (hash, puts) = store.payload_puts(&payload);
    assert!(puts.len() > 10);
    let mut e = event("E1", "big", "big");
    e.puts.extend(puts);
    rt.block_on(store.commit(e)).unwrap();
    assert_eq!(store.payload(&hash).unwrap(), Some(payload));
}

/// Child mode: commits events `from..` and prints each key once it is acknowledged.
fn child(dir: &str, from: usize) {
    let rt = runtime();
    let store = Store::open(std::path::Path::new(dir), StoreConfig::default()).unwrap();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in from..from + 100_000 {
            let store = store.clone();
            tasks.spawn(async move {
                let key = format!("k{i}");
                if let Ok(Committed::New { .. }) = store.commit(event("E1", &key, &key)).await {
                    println!("acked {key}");
                }
            });
            if tasks.len() >= 32 {
                tasks.join_next().await;
            }
        }
    });
}

#[test]
fn store_child() {
    // Runs only when the crash and fsync tests start this binary as their child.
    if let (Ok(dir), Ok(from)) = (
        std::env::var("SW_STORE_DIR"),
        std::env::var("SW_STORE_FROM"),
    ) {
        child(&dir, from.parse().unwrap());
    }
}

fn spawn_child(dir: &std::path::Path, from: usize, wrapper: &[&str]) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    let mut args: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    args.push(exe.display().to_string());
    args.extend(
        [
            "store_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ]
        .map(String::from),
    );
    Command::new(&args[0])
        .args(&args[1..])
        .env("SW_STORE_DIR", dir)
        .env("SW_STORE_FROM", from.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn no_acknowledged_commit_is_lost_when_the_writer_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked_total = Vec::new();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..10 {
        let mut child = spawn_child(dir.path(), round * 1_000_000, &[]);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Kill after a random number of acknowledgements (1..=400).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 1 + (seed % 400) as usize;
        let mut acked = Vec::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(key) = line.strip_prefix("acked ") {
                acked.push(key.to_owned());
                if acked.len() >= kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        acked_total.extend(acked);
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let lost: Vec<&String> = acked_total
            .iter()
            .filter(|k| {
                store
                    .get(Tree::Declarations, k.as_bytes())
                    .unwrap()
                    .is_none()
            })
            .collect();
        eprintln!(
            "round {round}: {} acknowledged so far, {} lost",
            acked_total.len(),
            lost.len()
        );
        assert!(lost.is_empty(), "lost after SIGKILL: {lost:?}");
        // Nothing half-written: every declaration has its outbox row and idempotency record.
        let rows: std::collections::HashSet<Vec<u8>> = store
            .outbox()
            .unwrap()
            .into_iter()
            .map(|(_, row)| row)
            .collect();
        for key in &acked_total {
            assert!(store.reply_of("E1", key).unwrap().is_some(), "{key}");
            assert!(rows.contains(format!("route {key}").as_bytes()), "{key}");
        }
        store.close().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_acknowledgement_follows_an_fsync_of_the_data_file() {
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace (Debian package strace) must be installed: .ci/run installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let trace_arg = trace.display().to_string();
    let mut child = spawn_child(
        &data,
        0,
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=openat,pwrite64,write,fsync,fdatasync",
            // Whole buffers, so that the write carrying the acknowledged key can be found.
            "-s",
            "1000000",
            "-o",
            &trace_arg,
        ],
    );
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0;
    for line in stdout.lines() {
        if line.unwrap().starts_with("acked ") {
            acked += 1;
            if acked >= 3 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let trace = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    // Descriptors on the sled data file `…/data/db` (sled's own and the store's).
    let data_fds: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("openat(") && l.contains("/data/db\""))
        .filter_map(|l| l.rsplit("= ").next())
        .map(|fd| fd.trim().to_owned())
        .collect();
    assert!(!data_fds.is_empty(), "the data file is opened:\n{trace}");
    // A call on a data descriptor; strace splits calls that overlap across threads into
    // "fdatasync(11 <unfinished ...>" and a later "<... fdatasync resumed>".
    let on_data = |l: &str, call: &str| {
        data_fds.iter().any(|fd| {
            [",", ")", " <unfinished"]
                .iter()
                .any(|end| l.contains(&format!("{call}({fd}{end}")))
        })
    };
    let first_ack = lines
        .iter()
        .position(|l| l.contains("write(1, \"acked"))
        .expect("the acknowledgement is in the trace");
    let key = lines[first_ack]
        .split("acked ")
        .nth(1)
        .and_then(|rest| rest.split('\\').next())
        .expect("the acknowledged key");
    // The write that carried the acknowledged event. Later writes may belong to the next
    // group, which the writer stages while this one's acknowledgement is on its way.
    let carries_key = |l: &str| {
        l.match_indices(key).any(|(at, _)| {
            !l[at + key.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    };
    let key_write = lines[..first_ack]
        .iter()
        .position(|l| on_data(l, "pwrite64") && carries_key(l))
        .expect("the event was written to the data file before it was acknowledged");
    let synced = lines[key_write..first_ack]
        .iter()
        .any(|l| on_data(l, "fsync") || on_data(l, "fdatasync"));
    assert!(
        synced,
        "no fsync of the data file between the write of {key} and its acknowledgement:\n{}",
        lines[key_write..=first_ack]
            .iter()
            .map(|l| l.chars().take(160).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
