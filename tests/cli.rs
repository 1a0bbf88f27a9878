//! `single-window validate` as a seller runs it: the real binary, real files, exit codes.

#[path = "support/pki.rs"]
mod pki;

use std::process::Command;

fn validate(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_single-window"))
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn clean_files_exit_0() {
    let (code, out) = validate(&[
        "../shared/ceb/import/CEB513Message.xml",
        "../shared/ceb/import/CEB625Message.xml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("CEB625Message") && out.contains("0 rejected"),
        "{out}"
    );
}

#[test]
fn rejected_blocks_exit_1_and_name_rule_path_and_value() {
    let (code, out) = validate(&["../shared/ceb/import/CEB511Message.xml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("6 block(s), 6 rejected"), "{out}");
    assert!(
        out.contains("[PACK-NO] LogisticsHead/packNo = \"6000\""),
        "{out}"
    );
}

#[test]
fn unreadable_input_exits_2_even_beside_rejected_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"",
    )
    .unwrap();
    let missing = dir.path().join("missing.xml");
    let (code, out) = validate(&[
        "../shared/ceb/import/CEB511Message.xml",
        broken.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("broken.xml: unreadable"), "{out}");
    assert!(
        out.contains("missing.xml: unreadable: cannot read"),
        "{out}"
    );
}

#[test]
fn json_is_one_object_per_block_with_violation_fields() {
    let (code, out) = validate(&["--format", "json", "../shared/ceb/import/CEB621Message.xml"]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "one object per block");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["block"], i + 1);
        assert_eq!(line["status"], "rejected");
        let violations = line["violations"].as_array().unwrap();
        assert_eq!(violations.len(), 5);
        for v in violations {
            for key in ["rule", "code", "path", "value", "message"] {
                assert!(v.get(key).is_some(), "{key} in {v}");
            }
        }
    }
}

#[test]
fn folders_are_searched_for_xml_files() {
    let (code, out) = validate(&["../shared/ceb/import"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.lines().filter(|l| l.contains("Message.xml:")).count(),
        16,
        "{out}"
    );
}

#[test]
fn a_broken_rules_folder_is_refused_before_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = validate(&[
        "--rules",
        dir.path().to_str().unwrap(),
        "../shared/ceb/import/CEB513Message.xml",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("error: rules: reading"), "{out}");
}

/// `single-window check-config ARGS` with `env` as the only SINGLE_WINDOW_* variables.
fn check_config(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_single-window"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SINGLE_WINDOW_")) {
        command.env_remove(name);
    }
    let out = command
        .arg("check-config")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_config_prints_the_defaults_as_toml_and_a_summary_of_the_built_in_rules() {
    let (code, out) = check_config(&[], &[]);
    assert_eq!(code, 0, "{out}");
    // What it prints is TOML that loads as the very config it checked.
    let shown = single_window::config::Config::parse(&out, std::path::Path::new("stdout"))
        .unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(shown, single_window::config::Config::default());
    assert!(out.contains("[server]\n"), "{out}");
    assert!(out.contains("listen = \"127.0.0.1:50051\""), "{out}");
    assert!(out.contains("# rules: the built-in copy"), "{out}");
    assert!(
        out.contains("release policy: requires customs, inspection, tax"),
        "{out}"
    );
    for counted in [" countries", "HS lines: ", "enterprises: "] {
        assert!(out.contains(counted), "{counted}: {out}");
    }
}

#[test]
fn check_config_names_the_file_and_the_key_of_an_invalid_value_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    let file_arg = file.to_str().unwrap();
    let cases = [
        ("[dispatch]\nmax_attempts = 0\n", "dispatch.max_attempts"),
        ("[store]\nqueue = \"many\"\n", "store.queue"),
        (
            "[server]\nlisen = \"127.0.0.1:1\"\n",
            "unknown key `server.lisen`",
        ),
        ("[server]\nlisten = \"0.0.0.0:50051\"\n", "server.listen"),
        ("[admin]\nlisten = \"0.0.0.0:9090\"\n", "admin.listen"),
        ("[agencies]\ntax = \"tax.example:1\"\n", "agencies.tax"),
    ];
    for (text, key) in cases {
        std::fs::write(&file, text).unwrap();
        let (code, out) = check_config(&["--config", file_arg], &[]);
        assert_eq!(code, 2, "{text}: {out}");
        assert!(out.starts_with("error: "), "{out}");
        assert!(out.contains(file_arg) && out.contains(key), "{key}: {out}");
    }
    // The file may come from SINGLE_WINDOW_CONFIG; a variable that breaks a rule is named.
    std::fs::write(&file, "[store]\nqueue = 8\n").unwrap();
    let (code, out) = check_config(
        &[],
        &[
            ("SINGLE_WINDOW_CONFIG", file_arg),
            ("SINGLE_WINDOW_STORE_MAX_BATCH", "none"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("SINGLE_WINDOW_STORE_MAX_BATCH"), "{out}");
    // A rules folder without the rule files.
    let (code, out) = check_config(
        &[],
        &[("SINGLE_WINDOW_RULES_DIR", dir.path().to_str().unwrap())],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error: rules: reading"), "{out}");
    // An agency reached in plaintext off loopback.
    let (code, out) = check_config(
        &[],
        &[("SINGLE_WINDOW_AGENCIES_TAX", "http://tax.example:50063")],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("agencies.tax") && out.contains("loopback host only"),
        "{out}"
    );
    // TLS: a register that cannot be read, a certificate without its key.
    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().unwrap();
    for (env, expected) in [
        (
            ("SINGLE_WINDOW_TLS_REGISTER", missing),
            format!("tls.register: {missing}"),
        ),
        (
            ("SINGLE_WINDOW_TLS_CERT", missing),
            "tls.key: required with tls.cert".to_owned(),
        ),
    ] {
        let (code, out) = check_config(&[], &[env]);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(&expected), "{expected}: {out}");
    }
}

#[test]
fn check_config_redacts_the_credentials_of_agency_urls_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(
        &file,
        "[agencies]\ncustoms = \"http://bob:hunter2@127.0.0.1:50061/x\"\n[store]\nqueue = 8\n",
    )
    .unwrap();
    // An https:// agency needs the CA of its certificate.
    let pki = pki::Pki::new();
    let ca = pki.path("ca.pem");
    let fx = (
        "SINGLE_WINDOW_AGENCIES_FX",
        "https://fx:s3cret@127.0.0.1:50062",
    );
    let (code, out) = check_config(&["--config", file.to_str().unwrap()], &[fx]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("agencies.fx") && out.contains("CA"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    let (code, out) = check_config(
        &["--config", file.to_str().unwrap()],
        &[fx, ("SINGLE_WINDOW_AGENCIES_CA", ca.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}");
    for secret in ["hunter2", "bob", "s3cret"] {
        assert!(!out.contains(secret), "{secret}: {out}");
    }
    assert!(
        out.contains("customs = \"http://<redacted>@127.0.0.1:50061/x\""),
        "{out}"
    );
    assert!(
        out.contains("fx = \"https://<redacted>@127.0.0.1:50062\""),
        "{out}"
    );
    // The file's other values are the effective ones.
    assert!(out.contains("queue = 8"), "{out}");
}

#[test]
fn every_subcommand_and_flag_has_help() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", command.get_name());
        if command.get_about().is_none() {
            missing.push(path.clone());
        }
        for arg in command.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &path, missing);
        }
    }
    let mut command = single_window::cli::Cli::command();
    command.build();
    let mut missing = Vec::new();
    walk(&command, "", &mut missing);
    assert!(missing.is_empty(), "without help: {missing:?}");
    for sub in ["submit", "status", "watch", "check-config"] {
        let help = command
            .find_subcommand_mut(sub)
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("Exit codes:"), "{sub}: {help}");
    }
}
