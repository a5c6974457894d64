//! The `tocsin` binary as users meet it.

use tocsin::scenarios::KERMAN_REPORT;

use tocsin_domain::Role;

use crate::support::{Backend, Deployment, stderr, stdout};

fn with(field: &str, value: Option<&str>) -> String {
    let mut v: serde_json::Value = serde_json::from_str(KERMAN_REPORT).unwrap();
    let parts: Vec<&str> = field.split('.').collect();
    let mut cur = &mut v;
    for p in &parts[..parts.len() - 1] {
        cur = cur.get_mut(*p).unwrap();
    }
    let last = parts[parts.len() - 1];
    match value {
        None => {
            cur.as_object_mut().unwrap().remove(last);
        }
        Some(val) => cur[last] = serde_json::from_str(val).unwrap(),
    }
    v.to_string()
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let d = Deployment::new();
    let before = d.ledger_size();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "malformed",
            "{\"originating_element\": \"A\",".to_owned(),
            "EOF while parsing",
        ),
        (
            "unknown field",
            with("surprise", Some("1")),
            "unknown field `surprise`",
        ),
        (
            "missing field",
            with("title", None),
            "missing field `title`",
        ),
        (
            "invalid enum",
            with("harm_types", Some("[\"arson\"]")),
            "harm_types[0]: unknown variant `arson`",
        ),
        (
            "window ends before it starts",
            with("window.not_after", Some("\"2024-01-02T00:00:00Z\"")),
            "window: the window ends",
        ),
        (
            "unknown time zone",
            with("window.time_zone", Some("\"Mars/Olympus\"")),
            "window.time_zone: 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            "bad grade",
            with("grading.grade", Some("\"B9\"")),
            "grading.grade: 'B9' is not an Admiralty grade",
        ),
        (
            "bad country",
            with("location.country", Some("\"Iran\"")),
            "location.country: 'Iran' is not an ISO 3166-1",
        ),
        (
            "empty victims",
            with("target.victims", Some("[]")),
            "target.victims: must contain at least one element",
        ),
    ];
    for (what, json, expect) in cases {
        let f = d.file("bad.json", &json);
        let out = d.run(&["report", "submit", f.to_str().unwrap()]);
        assert!(!out.status.success(), "{what}: accepted");
        let err = stderr(&out);
        assert!(
            err.contains(expect),
            "{what}: expected '{expect}' in:\n{err}"
        );
        assert!(err.contains("nothing was submitted"), "{what}: {err}");
        assert_eq!(d.ledger_size(), before, "{what}: something was written");
    }
    // One bad file among good ones: nothing at all is written.
    let good = d.file("good.json", KERMAN_REPORT);
    let bad = d.file("bad2.json", &with("title", None));
    let out = d.run(&[
        "report",
        "submit",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(d.ledger_size(), before);
    // Bad JSON lines name the line.
    let lines = format!(
        "{}\n{}\n",
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(KERMAN_REPORT).unwrap())
            .unwrap(),
        with("title", None)
    );
    let f = d.file("reports.jsonl", &lines);
    let out = d.run(&["report", "submit", "--jsonl", f.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("reports.jsonl:2: report: missing field `title`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(d.ledger_size(), before);
    // The server refuses the same documents on its own, naming the field.
    let srv = d.serve("2023-12-26T10:00:00Z");
    let tok = srv.account(
        "collector.a",
        &[Role::Collector],
        &["Counterterrorism Collection Element"],
        "SECRET",
        &["HCS"],
    );
    let before = d.ledger_size();
    for (body, field) in [
        (
            with("window.time_zone", Some("\"Mars/Olympus\"")),
            "window.time_zone",
        ),
        (with("harm_types", Some("[\"arson\"]")), "harm_types[0]"),
        (with("surprise", Some("1")), "surprise"),
        (
            with("originating_element", Some("\"Some Other Element\"")),
            "originating_element",
        ),
        (
            with("handling.classification", Some("\"COSMIC\"")),
            "handling.classification",
        ),
    ] {
        let a = srv.call(
            "POST",
            "/api/v1/reports",
            Some(&tok),
            Some(serde_json::from_str(&body).unwrap()),
        );
        assert_eq!(a.status, 422, "{field}: {:?}", a.body);
        assert_eq!(
            a.body["type"], "https://tocsin.dev/problems/validation",
            "{field}"
        );
        let got = a.body["field"].as_str().unwrap_or("");
        assert!(
            got == field || field == "surprise",
            "{field}: field {got}, {:?}",
            a.body
        );
        assert!(
            a.headers["content-type"] == "application/problem+json",
            "{field}"
        );
    }
    assert_eq!(d.ledger_size(), before, "a refused report wrote something");
}

#[test]
fn submit_show_determine_and_illegal_transition_through_the_cli() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let el = "Counterterrorism Collection Element";
    let collector = srv.account("collector.a", &[Role::Collector], &[el], "SECRET", &["HCS"]);
    let kim = srv.account(
        "analyst.kim",
        &[Role::Analyst],
        &[el],
        "TOP SECRET",
        &["HCS"],
    );
    let lee = srv.account(
        "approver.lee",
        &[Role::Approver],
        &[el],
        "TOP SECRET",
        &["HCS"],
    );
    let run = |token: &str, args: &[&str]| srv.cli(&d, token).args(args).output().unwrap();
    let f = d.file("kerman.json", KERMAN_REPORT);
    // Without a credential the CLI says how to get one.
    let out = d
        .tocsin()
        .env("TOCSIN_SERVER", &srv.url)
        .args(["report", "submit", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("tocsin login"), "{}", stderr(&out));
    let out = run(
        &collector,
        &["--json", "report", "submit", f.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ack: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    let case = ack["case"].as_str().unwrap().to_owned();
    assert_eq!(ack["new_case"], true);
    // A collector may not determine.
    let out = run(&collector, &["case", "determine", &case]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lacks the analyse permission"),
        "{}",
        stderr(&out)
    );
    // A unique prefix finds the case.
    srv.set_now("2023-12-26T14:00:00Z");
    let out = run(&kim, &["case", "determine", &case[..13]]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("determination_made"),
        "{}",
        stdout(&out)
    );
    // Approving a warning that does not exist is refused with what is allowed next.
    let out = run(
        &lee,
        &[
            "warning",
            "approve",
            &case,
            "--version",
            "1",
            "--sha256",
            "00",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cannot approve warning while the case is duty_to_warn; allowed next: draft warning, choose route, request waiver"), "{err}");
    // A waiver on an unlisted ground.
    let out = run(
        &kim,
        &[
            "waiver",
            "request",
            &case,
            "--ground",
            "ADVERSARY",
            "--reason",
            "the recipient is an adversary",
        ],
    );
    assert!(
        stderr(&out).contains("'ADVERSARY' is not a waiver ground"),
        "{}",
        stderr(&out)
    );
    // The live check shows the offending spans and writes nothing to the case.
    let cases_before = srv
        .call(
            "GET",
            &format!("/api/v1/cases/{case}/events"),
            Some(&kim),
            None,
        )
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    let out = run(
        &kim,
        &[
            "warning",
            "check",
            &case,
            "--text",
            "Source CS-4471 says (S) there is a threat.",
        ],
    );
    assert!(!out.status.success());
    let s = stdout(&out);
    assert!(
        s.contains("7..14  source identifier") && s.contains("[[CS-4471]]"),
        "{s}"
    );
    let cases_after = srv
        .call(
            "GET",
            &format!("/api/v1/cases/{case}/events"),
            Some(&kim),
            None,
        )
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(cases_before, cases_after);
    let out = run(&kim, &["case", "show", &case]);
    let s = stdout(&out);
    for want in [
        "duty to warn",
        "[pass] credible",
        "refused attempts",
        "timeline",
        "Asia/Tehran",
    ] {
        assert!(s.contains(want), "missing '{want}' in:\n{s}");
    }
    let out = run(&kim, &["--json", "case", "list"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["items"][0]["state"], "duty_to_warn");
}

#[test]
fn corrupt_foreign_and_missing_databases_are_detected_on_open() {
    let d = Deployment::empty();
    let out = d.run(&["audit", "verify"]);
    assert!(
        stderr(&out).contains("run `tocsin init` first"),
        "{}",
        stderr(&out)
    );
    match d.backend {
        Backend::Sqlite => {
            std::fs::write(
                d.sqlite_path(),
                b"this is not a database at all, just some text that is long enough to look like a header",
            )
            .unwrap();
            let out = d.run(&["audit", "verify"]);
            assert!(!out.status.success());
            assert!(
                stderr(&out).contains("is not a tocsin database: it is not an SQLite file"),
                "{}",
                stderr(&out)
            );
            std::fs::remove_file(d.sqlite_path()).unwrap();
            d.sql().batch(
                "CREATE TABLE invoices (id INTEGER PRIMARY KEY); PRAGMA application_id = 42;",
            );
            let out = d.run(&["audit", "verify"]);
            assert!(
                stderr(&out).contains("an SQLite database of another application"),
                "{}",
                stderr(&out)
            );
        }
        Backend::Postgres => {
            // A database that does not exist, named in a URL with a
            // password: the message says what to do and never shows it.
            let url = crate::support::pg_server().replacen(
                "://postgres@",
                "://postgres:s3cret-Passw0rd@",
                1,
            ) + "/tocsin_it_no_such_database";
            let out = d
                .tocsin()
                .env("TOCSIN_DB", &url)
                .args(["audit", "verify"])
                .output()
                .unwrap();
            assert!(!out.status.success());
            let err = stderr(&out);
            assert!(
                err.contains("'tocsin_it_no_such_database' does not exist"),
                "{err}"
            );
            assert!(!err.contains("s3cret"), "the password is shown: {err}");
            let out = d
                .tocsin()
                .env("TOCSIN_DB", &url)
                .env("TOCSIN_KEY", d.dir.path().join("x.key"))
                .args(["init"])
                .output()
                .unwrap();
            assert!(!out.status.success());
            assert!(
                !stderr(&out).contains("s3cret") && !stdout(&out).contains("s3cret"),
                "the password is shown: {}",
                stderr(&out)
            );
            // A URL without --key: what to give.
            let out = d
                .tocsin()
                .env_remove("TOCSIN_KEY")
                .args(["admin", "rebuild"])
                .output()
                .unwrap();
            assert!(
                stderr(&out).contains("give it with --key FILE or TOCSIN_KEY"),
                "{}",
                stderr(&out)
            );
            // Another application's tables.
            d.sql()
                .batch("CREATE TABLE invoices (id integer PRIMARY KEY)");
            let out = d.run(&["audit", "verify"]);
            assert!(
                stderr(&out).contains("is not a tocsin database"),
                "{}",
                stderr(&out)
            );
        }
    }
    // A database from a newer tocsin.
    let d2 = Deployment::new();
    d2.sql().batch(match d2.backend {
        Backend::Sqlite => "PRAGMA user_version = 999;",
        Backend::Postgres => "INSERT INTO schema_migrations (version) VALUES (999)",
    });
    let out = d2.run(&["audit", "verify"]);
    assert!(
        stderr(&out).contains("schema is version 999, newer than this tocsin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_refuses_to_overwrite_and_writes_need_the_key() {
    let d = Deployment::new();
    let out = d.run(&["init"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = d
        .tocsin()
        .env("TOCSIN_KEY", d.dir.path().join("nope.key"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("the signing key is not at"),
        "{}",
        stderr(&out)
    );
    // Another deployment's key is refused.
    let other = Deployment::new();
    let out = d
        .tocsin()
        .env("TOCSIN_KEY", other.key())
        .args(["admin", "rebuild"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("does not belong to this database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_show_and_invalid_policy_files() {
    let d = Deployment::new();
    let out = d.run(&["policy", "show"]);
    let s = stdout(&out);
    assert!(
        s.contains("# active policy: icd-191 2015.1") && s.contains("[[waiver.grounds]]"),
        "{s}"
    );
    let custom =
        tocsin_domain::policy::DEFAULT_POLICY_TOML.replace("id = \"icd-191\"", "id = \"acme-soc\"");
    let p = d.file("acme.toml", &custom);
    let out = d.run(&["--policy", p.to_str().unwrap(), "policy", "show"]);
    assert!(
        stdout(&out).contains("# active policy: acme-soc"),
        "{}",
        stdout(&out)
    );
    let bad =
        tocsin_domain::policy::DEFAULT_POLICY_TOML.replace("min_points = 4", "min_points = 40");
    let line = bad
        .lines()
        .position(|l| l.contains("min_points = 40"))
        .unwrap()
        + 1;
    let p = d.file("bad.toml", &bad);
    let out = d.run(&["policy", "check", p.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "line {line}: specificity.min_points: 40 can never be reached"
        )),
        "{err}"
    );
    // Any command refuses to run under an invalid policy.
    let out = d.run(&[
        "--policy",
        p.to_str().unwrap(),
        "serve",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("can never be reached"),
        "{}",
        stderr(&out)
    );
}

/// `tocsin policy show | head -1`: the reader goes away after the first
/// line, the rest cannot be written, and tocsin exits 0 with no panic.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::io::BufRead;
    use std::process::Stdio;
    let d = Deployment::empty();
    // Longer than a pipe holds, so most of it is written after the reader
    // has gone.
    let long = format!(
        "{}\n{}",
        tocsin_domain::policy::DEFAULT_POLICY_TOML,
        "# a comment to make the policy longer than a pipe holds\n".repeat(5000)
    );
    let p = d.file("long.toml", &long);
    let mut child = d
        .tocsin()
        .args(["--policy", p.to_str().unwrap(), "policy", "show"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("# active policy: icd-191"), "{first}");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// Each help page lists the options of its command only; a variable shows
/// only when it is set, and a secret's value never.
#[test]
fn help_pages_list_their_own_options_and_set_variables_only() {
    let d = Deployment::new();
    let help = |env: &[(&str, &str)], line: &str| {
        let mut c = d.tocsin();
        c.env_remove("TOCSIN_DB").env_remove("TOCSIN_KEY");
        for (k, v) in env {
            c.env(k, v);
        }
        let args: Vec<&str> = line.split(' ').collect();
        let out = c.args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        // One line, so that wrapping does not matter.
        stdout(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for page in ["serve", "init", "audit verify", "admin rebuild", "backup"] {
        let h = help(&[], &format!("{page} --help"));
        assert!(h.contains("--db <FILE|URL>"), "{page}: {h}");
        assert!(
            !h.contains("--server") && !h.contains("--token"),
            "{page}: {h}"
        );
    }
    for page in [
        "case list",
        "warning draft",
        "report submit",
        "screen",
        "audit access",
    ] {
        let h = help(&[], &format!("{page} --help"));
        assert!(
            h.contains("--server <URL>") && h.contains("--token <TOKEN>"),
            "{page}: {h}"
        );
        for operator in ["--db", "--key", "--policy"] {
            assert!(!h.contains(operator), "{page} lists {operator}: {h}");
        }
        assert!(
            !h.contains("TOCSIN_"),
            "{page}: a variable shown unset: {h}"
        );
    }
    let h = help(&[], "warning export --help");
    assert!(!h.contains("--json"), "{h}");
    assert!(
        h.contains("- letter: A printable letter (text) - cap: An OASIS CAP 1.2 alert"),
        "{h}"
    );
    // Set, the variable shows with its value; a token's value never.
    let h = help(
        &[
            ("TOCSIN_SERVER", "http://10.0.0.1:8080"),
            ("TOCSIN_TOKEN", "tsn_s3cret"),
        ],
        "case list --help",
    );
    assert!(
        h.contains("[env: TOCSIN_SERVER=http://10.0.0.1:8080]"),
        "{h}"
    );
    assert!(
        h.contains("[env: TOCSIN_TOKEN]") && !h.contains("s3cret"),
        "{h}"
    );
    // Nor a database URL's with a password.
    let h = help(
        &[("TOCSIN_DB", "postgres://tocsin:s3cret@db.example/tocsin")],
        "audit verify --help",
    );
    assert!(
        h.contains("[env: TOCSIN_DB]") && !h.contains("s3cret"),
        "{h}"
    );
    let h = help(&[("TOCSIN_DB", "/srv/tocsin.db")], "audit verify --help");
    assert!(h.contains("[env: TOCSIN_DB=/srv/tocsin.db]"), "{h}");
    // The options may still come before the command, as scripts write them.
    let db = d.db_arg();
    let out = d
        .tocsin()
        .env_remove("TOCSIN_DB")
        .env_remove("TOCSIN_KEY")
        .arg("--db")
        .arg(&db)
        .arg("--key")
        .arg(d.key())
        .args(["--json", "audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("{\"ok\":true"), "{}", stdout(&out));
    // An option the command does not use is refused, not ignored.
    let out = d.run(&["--db", "other.db", "case", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--db'"),
        "{}",
        stderr(&out)
    );
    // The help topics.
    let roles = help(&[], "help roles");
    for want in [
        "case sweep analyst, admin",
        "token issue any account",
        "account enrol admin",
        "enrol anyone",
        "screen collector, analyst, approver",
        "account add --admin",
    ] {
        assert!(roles.contains(want), "missing {want:?}: {roles}");
    }
    let env = help(&[], "help environment");
    for want in [
        "TOCSIN_DB",
        "TOCSIN_KEY",
        "TOCSIN_TOKEN",
        "TOCSIN_PASSWORD",
        "TOCSIN_CONFIG_DIR",
    ] {
        assert!(env.contains(want), "missing {want}: {env}");
    }
    assert!(help(&[], "help case list").contains("Usage: tocsin case list"));
    let out = d.run(&["help", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("topics: roles, environment"),
        "{}",
        stderr(&out)
    );
}

/// Each error the issue found misleading says what is actually wrong.
#[test]
fn errors_say_what_is_actually_wrong() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let kim = srv.account(
        "analyst.kim",
        &[Role::Analyst],
        &["Counterterrorism Collection Element"],
        "TOP SECRET",
        &["HCS"],
    );
    // Four characters that are not hexadecimal: not "give at least 4".
    // (The server says so since case numbers; the CLI passes it on.)
    let out = srv
        .cli(&d, &kim)
        .args(["case", "show", "zzzz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("'zzzz' is neither a case number")
            && err.contains("hexadecimal")
            && !err.contains("at least 4"),
        "{err}"
    );
    // An empty token, from the environment or the flag.
    for empty in [
        srv.cli(&d, &kim)
            .env("TOCSIN_TOKEN", "")
            .args(["case", "list"])
            .output(),
        srv.cli(&d, &kim)
            .args(["case", "list", "--token", ""])
            .output(),
    ] {
        let out = empty.unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("the token is empty"), "{err}");
        assert!(
            !err.contains("Unauthorized") && !err.contains("Bearer"),
            "{err}"
        );
    }
    // A wrong password: no advice to log in, which is what failed.
    let mut login = d
        .tocsin()
        .env("TOCSIN_SERVER", &srv.url)
        .args(["login", "analyst.kim", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = login.stdin.take().unwrap();
        writeln!(stdin, "not-the-password").unwrap();
    }
    let out = login.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("wrong password"), "{err}");
    assert!(
        !err.contains("tocsin login") && !err.contains("TOCSIN_TOKEN"),
        "{err}"
    );
}

/// `tocsin report example kerman > kerman.json`, submitted today, reaches
/// a duty to warn; the draft's printed sha256 is the one its approver
/// gives back.
#[test]
fn the_living_example_reaches_a_duty_to_warn_today() {
    let d = Deployment::new();
    let now = tocsin_domain::Timestamp::from_second(tocsin_domain::Timestamp::now().as_second())
        .unwrap()
        .to_string();
    let srv = d.serve(&now);
    let el = "Counterterrorism Collection Element";
    let collector = srv.account("collector.a", &[Role::Collector], &[el], "SECRET", &["HCS"]);
    let kim = srv.account(
        "analyst.kim",
        &[Role::Analyst],
        &[el],
        "TOP SECRET",
        &["HCS"],
    );
    let lee = srv.account(
        "approver.lee",
        &[Role::Approver],
        &[el],
        "TOP SECRET",
        &["HCS"],
    );
    // A local command: no server, no database.
    let out = d
        .tocsin()
        .env_remove("TOCSIN_DB")
        .env_remove("TOCSIN_KEY")
        .args(["report", "example", "kerman"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let example = stdout(&out);
    let report: serde_json::Value = serde_json::from_str(&example).unwrap();
    assert_eq!(report["window"]["time_zone"], "Asia/Tehran");
    let f = d.file("kerman.json", &example);
    let run = |token: &str, args: &[&str]| {
        let out = srv.cli(&d, token).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let ack: serde_json::Value = serde_json::from_str(
        run(
            &collector,
            &["--json", "report", "submit", f.to_str().unwrap()],
        )
        .trim(),
    )
    .unwrap();
    let case = ack["case"].as_str().unwrap().to_owned();
    let determined = run(&kim, &["case", "determine", &case]);
    assert!(
        determined.contains("it is now duty_to_warn"),
        "{determined}"
    );
    let shown = run(&kim, &["case", "show", &case]);
    assert!(shown.contains("[pass] impending"), "{shown}");
    // The draft prints the hash it recorded; the approver gives it back.
    let drafted = run(
        &kim,
        &[
            "warning",
            "draft",
            &case,
            "--text",
            tocsin::scenarios::KERMAN_WARNING,
        ],
    );
    let sha256 = drafted
        .lines()
        .find_map(|l| l.strip_prefix("sha256 "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no sha256 in: {drafted}"))
        .to_owned();
    let recorded: serde_json::Value = serde_json::from_str(&run(
        &kim,
        &["--json", "warning", "show", &case, "--version", "1"],
    ))
    .unwrap();
    assert_eq!(recorded["sha256"], sha256.as_str());
    let approved = run(
        &lee,
        &[
            "warning",
            "approve",
            &case,
            "--version",
            "1",
            "--sha256",
            &sha256,
        ],
    );
    assert!(approved.contains("warning_approved"), "{approved}");
    // Every shipped scenario by name; another name is refused, listing them.
    let out = d.run(&["report", "example", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("kerman, crocus, crocus-synagogue"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn committed_intake_schema_matches_the_types() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/threat-report.schema.json"
    ))
    .expect("docs/schema/threat-report.schema.json is committed");
    let generated = serde_json::to_string_pretty(&tocsin_domain::intake_schema()).unwrap() + "\n";
    assert!(
        committed == generated,
        "docs/schema/threat-report.schema.json is stale: regenerate it with `tocsin report schema > docs/schema/threat-report.schema.json`"
    );
    // Every scenario fixture is valid against the types (and so the schema describes real input).
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).unwrap() {
        let p = f.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        tocsin_domain::parse_report(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

#[test]
fn demo_runs_and_verifies() {
    let d = Deployment::empty();
    let out = d.run(&["demo", "--no-serve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    for want in [
        "determination: duty to warn",
        "waiver refused and recorded",
        "draft refused",
        "escalation: follow up",
        "audit verify: OK",
        "— tocsin-",
    ] {
        assert!(s.contains(want), "missing '{want}'");
    }
    let again = d.run(&["demo", "--no-serve"]);
    assert!(again.status.success() && stdout(&again).contains("already loaded"));
    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("OK: "), "{}", stdout(&out));
}

#[test]
fn accounts_and_notices_by_their_names_and_their_old_hidden_ones() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let el = "Counterterrorism Collection Element";
    let admin = srv.account("admin.a", &[Role::Admin], &[el], "SECRET", &[]);
    let run = |args: &[&str]| {
        let out = srv.cli(&d, &admin).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    // `account`, and `user` as its hidden alias.
    let s = run(&[
        "account",
        "add",
        "analyst.kim",
        "--role",
        "analyst",
        "--element",
        el,
        "--clearance",
        "TOP SECRET",
        "--compartment",
        "HCS",
        "--no-password",
    ]);
    assert!(s.starts_with("analyst.kim (analyst.kim)"), "{s}");
    let a: serde_json::Value =
        serde_json::from_str(&run(&["--json", "user", "show", "analyst.kim"])).unwrap();
    assert_eq!(a["clearance"], "TOP SECRET");
    assert_eq!(a["roles"], serde_json::json!(["analyst"]));
    let s = run(&["user", "list"]);
    assert!(s.contains("analyst.kim") && s.contains("admin.a"), "{s}");
    // A value that is not a role is a usage error that lists the roles.
    let out = srv
        .cli(&d, &admin)
        .args(["account", "add", "x.y", "--role", "wizard", "--no-password"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("invalid value 'wizard' for '--role <ROLE>'")
            && err.contains(
                "[possible values: collector, analyst, approver, delivery_officer, auditor, admin, arbiter, records_officer]"
            ),
        "{err}"
    );
    // A value that is a role is read as the server reads it, naming the flag.
    let out = srv
        .cli(&d, &admin)
        .args([
            "account",
            "add",
            "x.y",
            "--role",
            "analyst",
            "--clearance",
            "COSMIC",
            "--no-password",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("COSMIC"), "{}", stderr(&out));
    // `notice target set|list|remove` and `notice list`...
    let s = run(&[
        "notice",
        "target",
        "set",
        "duty-desk",
        "--email",
        "duty@example.org",
    ]);
    assert_eq!(s.trim(), "notice target duty-desk set");
    let s = run(&["notice", "target", "list"]);
    assert!(s.contains("duty-desk  {\"kind\":\"email\""), "{s}");
    let page: serde_json::Value =
        serde_json::from_str(&run(&["--json", "notice", "list", "--status", "failed"])).unwrap();
    assert_eq!(page["items"], serde_json::json!([]));
    // ... and the old `notify set|targets|remove|list`, hidden.
    run(&[
        "notify",
        "set",
        "hook",
        "--webhook",
        "http://127.0.0.1:9/hook",
    ]);
    let targets: serde_json::Value =
        serde_json::from_str(&run(&["--json", "notify", "targets"])).unwrap();
    assert_eq!(targets["items"].as_array().unwrap().len(), 2, "{targets}");
    assert_eq!(
        run(&["notify", "remove", "hook"]).trim(),
        "notice target hook removed"
    );
    run(&["notice", "target", "remove", "duty-desk"]);
    assert_eq!(run(&["notify", "list"]).trim(), "no notices waiting");
    assert_eq!(
        srv.call("GET", "/api/v1/notification-targets", Some(&admin), None)
            .body["items"],
        serde_json::json!([])
    );
    // None of the old words is shown in the help.
    let help = run(&["--help"]);
    assert!(
        !help.contains("notify") && !help.contains("user "),
        "{help}"
    );
}

#[test]
fn handoff_names_the_lead_element_and_keeps_element_as_a_hidden_alias() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let el = "Counterterrorism Collection Element";
    let collector = srv.account("collector.a", &[Role::Collector], &[el], "SECRET", &["HCS"]);
    let kim = srv.account(
        "analyst.kim",
        &[Role::Analyst],
        &[el, "Counterterrorism Center"],
        "TOP SECRET",
        &["HCS"],
    );
    let f = d.file("kerman.json", KERMAN_REPORT);
    let out = srv
        .cli(&d, &collector)
        .args(["--json", "report", "submit", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let ack: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let case = ack["case"].as_str().unwrap().to_owned();
    for (flag, element) in [
        ("--lead-element", "Counterterrorism Center"),
        ("--element", el),
    ] {
        let out = srv
            .cli(&d, &kim)
            .args([
                "case",
                "handoff",
                &case,
                "--owner",
                "analyst.kim",
                flag,
                element,
                "--reason",
                "the centre leads",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        assert!(stdout(&out).contains("case_handed_off"), "{}", stdout(&out));
    }
}

/// `scripts/load-test` stops every server it started (it once left them
/// running, sweeping the cases each run opened, under the next run).
#[test]
fn the_load_test_leaves_no_process_behind() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The script makes its deployment under TMPDIR: every process it
    // started carries that place in its environment.
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(repo.join("scripts/load-test"))
        .args(["--duration", "1", "--floor", "1", "--connections", "4"])
        .env("TOCSIN_BIN", env!("CARGO_BIN_EXE_tocsin"))
        .env("TMPDIR", tmp.path())
        .output()
        .expect("scripts/load-test runs (it needs wrk: apt-get install wrk)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("== OK"),
        "the run's ledger verifies: {stdout}"
    );
    let mark = format!("TOCSIN_DB={}", tmp.path().display());
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .unwrap_or_default()
            .contains(") Z ");
        if !zombie
            && environ
                .split(|b| *b == 0)
                .any(|v| v.starts_with(mark.as_bytes()))
        {
            left.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(left.is_empty(), "processes left running: {left:?}");
}
