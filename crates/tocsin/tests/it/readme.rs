//! The README, executed: every ```sh block runs, in order, in the path it
//! belongs to, against a fresh deployment, and must succeed; a documented
//! command or flag that breaks fails this test.
//!
//! Blocks are steered by HTML comments (invisible on the rendered page)
//! written just above them:
//!
//! * `<!-- test: path NAME -->` starts a path (`demo`, `server`,
//!   `postgres`...): its blocks run one after the other in a fresh
//!   directory with a fresh home, with `tocsin` (this build) on `PATH`,
//!   `TOCSIN_SERVER` and `TOCSIN_BIND` set to a free port, and the repository's
//!   `crates`, `scripts` and `docs` linked in;
//! * `<!-- test: background -->`: the block starts a server; it runs in
//!   the background, the path goes on when `$TOCSIN_SERVER/readyz`
//!   answers, and it is stopped when the path ends;
//! * `<!-- test: expect TEXT -->` (repeatable): the block's output
//!   contains TEXT;
//! * `<!-- test: replace FROM => TO -->` (repeatable): run the block with
//!   FROM replaced (a host the reader has and the test does not);
//! * `<!-- test: setup COMMANDS -->`: run COMMANDS first, unseen (what a
//!   reader does at a prompt, such as typing a password; a local stand-in);
//!   the variables it assigns are kept for later blocks, as the block's own;
//! * `<!-- test: exit N -->`: the block must exit with status N (a command
//!   shown failing on purpose);
//! * `<!-- test: cleanup COMMANDS -->`: run COMMANDS when the path ends,
//!   pass or fail (dropping a database the path made);
//! * `<!-- test: stop -->`: the path's background servers are stopped
//!   first (the reader pressed Ctrl-C);
//! * `<!-- test: skip REASON -->`: not run, with the reason.
//!
//! A ```sh block with neither a path nor a skip fails the test: every
//! command the README shows is either tested or says why not.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One ```sh block with what steers it.
#[derive(Debug, Default, Clone)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
    path: Option<String>,
    background: bool,
    expect: Vec<String>,
    replace: Vec<(String, String)>,
    setup: Vec<String>,
    skip: Option<String>,
    exit: i32,
    stop: bool,
    cleanup: Vec<String>,
}

/// The ```sh blocks of a Markdown text, in order, with their directives.
fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut path: Option<String> = None;
    let mut pending = Block::default();
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let t = line.trim();
        if let Some(d) = t
            .strip_prefix("<!-- test:")
            .and_then(|r| r.strip_suffix("-->"))
        {
            let d = d.trim();
            let (word, rest) = d.split_once(' ').unwrap_or((d, ""));
            let rest = rest.trim().to_owned();
            match word {
                "path" => path = Some(rest),
                "background" => pending.background = true,
                "expect" => pending.expect.push(rest),
                "setup" => pending.setup.push(rest),
                "skip" => pending.skip = Some(rest),
                "stop" => pending.stop = true,
                "cleanup" => pending.cleanup.push(rest),
                "exit" => {
                    pending.exit = rest
                        .parse()
                        .map_err(|_| format!("line {}: exit needs a status", i + 1))?
                }
                "replace" => {
                    let (a, b) = rest
                        .split_once(" => ")
                        .ok_or_else(|| format!("line {}: replace needs 'FROM => TO'", i + 1))?;
                    pending.replace.push((a.to_owned(), b.to_owned()));
                }
                other => return Err(format!("line {}: unknown directive '{other}'", i + 1)),
            }
            continue;
        }
        if t == "```sh" || t == "```bash" {
            let mut b = std::mem::take(&mut pending);
            b.line = i + 1;
            b.path = path.clone();
            for (_, l) in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                b.text.push_str(l);
                b.text.push('\n');
            }
            out.push(b);
        } else if t.starts_with("```") && !pending.is_empty() {
            return Err(format!(
                "line {}: test directives above a block that is not ```sh",
                i + 1
            ));
        }
    }
    Ok(out)
}

impl Block {
    fn is_empty(&self) -> bool {
        !self.background
            && !self.stop
            && self.exit == 0
            && self.cleanup.is_empty()
            && self.expect.is_empty()
            && self.replace.is_empty()
            && self.setup.is_empty()
            && self.skip.is_none()
    }

    /// The script the block runs as. The shell variables earlier blocks of
    /// the path set (`NAME=...`, `export NAME=...`) are kept in `state`,
    /// as a reader's shell keeps them.
    fn script(&self, state: &str) -> String {
        let mut text = self.text.clone();
        for (a, b) in &self.replace {
            text = text.replace(a, b);
        }
        let mut s = format!("[ -f {state} ] && source {state}\nset -euo pipefail\n");
        for c in &self.setup {
            s.push_str(c);
            s.push('\n');
        }
        s.push_str(&text);
        s.push('\n');
        let setup = self.setup.join("\n");
        let mut names = assigned(&setup);
        for n in assigned(&self.text) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        for name in names {
            s.push_str(&format!(
                "declare -p {name} >> {state} 2>/dev/null || true\n"
            ));
        }
        s
    }
}

/// The shell variables a block assigns at the start of a line.
fn assigned(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim_start();
        let l = l.strip_prefix("export ").unwrap_or(l);
        for word in l.split_whitespace() {
            let Some((name, _)) = word.split_once('=') else {
                break;
            };
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit();
            if !ok {
                break;
            }
            if !out.iter().any(|n| n == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh place to follow one path of the README.
struct Walk {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    servers: Vec<Child>,
    url: String,
    cleanup: Vec<String>,
}

impl Walk {
    fn new() -> Walk {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        for d in ["crates", "scripts", "docs"] {
            std::os::unix::fs::symlink(repo().join(d), dir.path().join(d)).expect("link");
        }
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_tocsin"));
        let path = format!(
            "{}:{}",
            bin.parent().expect("bin dir").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut env = BTreeMap::new();
        env.insert("HOME".into(), home.display().to_string());
        env.insert("PATH".into(), path);
        env.insert("TOCSIN_SERVER".into(), url.clone());
        env.insert("TOCSIN_BIND".into(), format!("127.0.0.1:{port}"));
        let shared = std::env::var("TOCSIN_SHARED_DATA")
            .unwrap_or_else(|_| repo().join("../shared/data").display().to_string());
        env.insert("TOCSIN_SHARED_DATA".into(), shared);
        env.insert("TOCSIN_TEST_PG".into(), crate::support::pg_server());
        Walk {
            dir,
            env,
            servers: Vec::new(),
            url,
            cleanup: Vec::new(),
        }
    }

    fn command(&self, script: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c").arg(script).current_dir(self.dir.path());
        c.env_clear();
        for (k, v) in &self.env {
            c.env(k, v);
        }
        for k in ["LANG", "TERM", "USER"] {
            if let Ok(v) = std::env::var(k) {
                c.env(k, v);
            }
        }
        c
    }

    fn run(&mut self, b: &Block) -> Result<(), String> {
        if b.stop {
            self.stop();
        }
        self.cleanup.extend(b.cleanup.iter().cloned());
        let state = self.dir.path().join(".readme-state");
        let script = b.script(&state.display().to_string());
        if b.background {
            // Its output goes to a file: a pipe nobody reads would fill
            // and stop the server.
            let n = self.servers.len();
            let log = self.dir.path().join(format!(".background-{n}.log"));
            let file = std::fs::File::create(&log).map_err(|e| format!("{log:?}: {e}"))?;
            let err = file.try_clone().map_err(|e| format!("{log:?}: {e}"))?;
            let mut c = self.command(&script);
            c.stdin(Stdio::null())
                .stdout(file)
                .stderr(err)
                .process_group(0);
            let child = c.spawn().map_err(|e| format!("cannot start: {e}"))?;
            self.servers.push(child);
            return self.wait_ready();
        }
        let out = self
            .command(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(b.exit) {
            return Err(format!(
                "exit {:?} (expected {})\n--- stdout\n{stdout}--- stderr\n{stderr}",
                out.status.code(),
                b.exit
            ));
        }
        for want in &b.expect {
            if !stdout.contains(want.as_str()) && !stderr.contains(want.as_str()) {
                return Err(format!(
                    "the output lacks '{want}'\n--- stdout\n{stdout}--- stderr\n{stderr}"
                ));
            }
        }
        Ok(())
    }

    /// Waits until the server a background block started answers.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(180);
        let url = format!("{}/readyz", self.url);
        while Instant::now() < deadline {
            if ready(&self.url) {
                return Ok(());
            }
            if let Some(child) = self.servers.last_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let n = self.servers.len() - 1;
                let log = self.dir.path().join(format!(".background-{n}.log"));
                let err = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!(
                    "the background block stopped ({status}) before serving:\n{err}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("nothing answered at {url} within 3 minutes"))
    }
}

/// Whether `GET /readyz` at `url` (http://host:port) answers 200.
fn ready(url: &str) -> bool {
    use std::io::Write;
    let Some(addr) = url.strip_prefix("http://") else {
        return false;
    };
    let Ok(addr) = addr.parse::<std::net::SocketAddr>() else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    if s.write_all(format!("GET /readyz HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

impl Walk {
    /// Stops the background servers (SIGTERM, as Ctrl-C would, to the
    /// whole process group: bash and the server it started).
    fn stop(&mut self) {
        for mut c in self.servers.drain(..) {
            // `--` first: without it, kill may read the negative process
            // group id as an option.
            let group = c.id();
            if group > 1 {
                let _ = Command::new("kill")
                    .args(["-s", "TERM", "--", &format!("-{group}")])
                    .status();
            }
            let _ = c.wait();
        }
    }
}

impl Walk {
    /// The last lines the background servers wrote.
    fn logs(&self) -> String {
        let mut out = String::new();
        for n in 0..self.servers.len() {
            let log = self.dir.path().join(format!(".background-{n}.log"));
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            out.push_str(&format!(
                "--- background {n}, last lines\n{}\n",
                tail.join("\n")
            ));
        }
        out
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        self.stop();
        let state = self.dir.path().join(".readme-state");
        for c in std::mem::take(&mut self.cleanup) {
            let script = format!("[ -f {0} ] && source {0}\n{c}\n", state.display());
            let _ = self
                .command(&script)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn every_command_of_the_readme_runs() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let all = blocks(&text).unwrap_or_else(|e| panic!("README.md: {e}"));
    let mut by_path: BTreeMap<String, Vec<Block>> = BTreeMap::new();
    let mut untested = Vec::new();
    for b in all {
        match (&b.skip, &b.path) {
            (Some(_), _) => {}
            (None, Some(p)) => by_path.entry(p.clone()).or_default().push(b),
            (None, None) => untested.push(b.line),
        }
    }
    assert!(
        untested.is_empty(),
        "README.md: the ```sh blocks at lines {untested:?} name no path and no reason to skip them"
    );
    assert!(
        ["demo", "server", "postgres"]
            .iter()
            .all(|p| by_path.contains_key(*p)),
        "README.md: the demo, server and postgres paths must all be tested: {:?}",
        by_path.keys().collect::<Vec<_>>()
    );
    let pg = crate::support::Backend::current() == crate::support::Backend::Postgres;
    for (path, blocks) in by_path {
        // The PostgreSQL path runs with the PostgreSQL run of the suite,
        // the others (on SQLite files) with the SQLite run.
        if (path == "postgres") != pg {
            continue;
        }
        let mut walk = Walk::new();
        for b in &blocks {
            let started = Instant::now();
            let result = walk.run(b);
            eprintln!(
                "README.md:{} (path {path}): {} in {:.1} s",
                b.line,
                if result.is_ok() { "ok" } else { "FAILED" },
                started.elapsed().as_secs_f64()
            );
            if let Err(e) = result {
                panic!(
                    "README.md, path {path}, the block at line {}:\n{}\n{e}\n{}",
                    b.line,
                    b.text,
                    walk.logs()
                );
            }
        }
    }
}

#[test]
fn the_readme_harness_reads_its_directives() {
    let md = "intro\n<!-- test: path demo -->\n\n<!-- test: background -->\n```sh\ntocsin demo\n```\n\
              <!-- test: expect duty to warn -->\n<!-- test: replace db.example => 127.0.0.1 -->\n```sh\nx db.example\n```\n\
              <!-- test: skip needs a real relay -->\n```sh\nmail\n```\n```text\nnot a block\n```\n";
    let b = blocks(md).unwrap();
    assert_eq!(b.len(), 3);
    assert!(b[0].background && b[0].path.as_deref() == Some("demo"));
    assert_eq!(b[1].expect, ["duty to warn"]);
    assert!(b[1].script("s").contains("x 127.0.0.1"));
    assert_eq!(
        assigned("CASE=$(x)\nexport A=1 B=2 tocsin y\n  tocsin X=1\nlower=1\n"),
        ["CASE", "A", "B"]
    );
    assert_eq!(b[2].skip.as_deref(), Some("needs a real relay"));
    let b = blocks("<!-- test: stop -->\n<!-- test: exit 1 -->\n<!-- test: setup export P=x -->\n```sh\nfalse\n```\n").unwrap();
    assert!(b[0].stop && b[0].exit == 1);
    assert!(b[0].script("s").contains("declare -p P >> s"));
    assert!(blocks("<!-- test: exit one -->\n```sh\nx\n```\n").is_err());
    assert!(blocks("<!-- test: frobnicate -->\n```sh\nx\n```\n").is_err());
    assert!(blocks("<!-- test: expect x -->\n```text\nx\n```\n").is_err());
}
