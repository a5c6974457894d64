//! The work `tocsin serve` does on its own: applying the clock (the sweep:
//! escalations of overdue steps, re-assessment flags) and sending the
//! escalation notices to their targets, with retries; and the long
//! operations the web UI starts and shows the progress of ([`Background`]).
//!
//! Several server processes may run this on one database: an escalation is
//! an event folded into its case, so the second process's sweep sees it and
//! raises nothing (optimistic concurrency on the case stream); notices are
//! claimed with compare-and-set and a lease. Everything is in the store, so
//! a restart loses nothing and repeats nothing.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::Sha256;
use tocsin_domain::Timestamp;
use tocsin_domain::notice::{NoticeChannel, NoticeTarget};
use tocsin_service::background::Counter;
use tocsin_service::screening::Imported;
use tocsin_service::{Notice, RetryPolicy};
use tocsin_store::audit::{Failure, VerifyReport};

use crate::AppState;

/// SMTP settings for email targets (plain SMTP to a relay you trust).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub from: String,
}

/// How often the jobs run and how notices are retried.
#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// How often due notices are looked for.
    pub tick: Duration,
    /// How often the clock is applied to every open case.
    pub sweep_every: Duration,
    pub retry: RetryPolicy,
    pub webhook_timeout: Duration,
    pub smtp: Option<SmtpConfig>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(2),
            sweep_every: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            webhook_timeout: Duration::from_secs(10),
            smtp: None,
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`, as lower-case hex.
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    // HMAC takes a key of any length (a long one is hashed first).
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The JSON a webhook receives.
pub fn webhook_body(n: &Notice) -> String {
    serde_json::json!({
        "type": "escalation",
        "id": n.id,
        "case_id": n.case_id,
        "step": n.step,
        "due": n.due,
        "raised_at": n.raised_at,
        "attempt": n.attempts + 1,
    })
    .to_string()
}

async fn send_webhook(
    http: &reqwest::Client,
    url: &str,
    secret: Option<String>,
    n: &Notice,
    now: tocsin_domain::Timestamp,
) -> Result<(), String> {
    let body = webhook_body(n);
    let ts = now.as_second().to_string();
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-tocsin-delivery", &n.id)
        .header("x-tocsin-timestamp", &ts);
    if let Some(s) = secret {
        let sig = hmac_sha256_hex(s.as_bytes(), format!("{ts}.{body}").as_bytes());
        req = req.header("x-tocsin-signature", format!("sha256={sig}"));
    }
    match req.body(body).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the webhook answered {}", r.status())),
        Err(e) => Err(format!("the webhook could not be reached: {e}")),
    }
}

async fn send_email(smtp: &SmtpConfig, to: &[String], n: &Notice) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let mut b = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("from address: {e}"))?,
        )
        .subject(format!(
            "tocsin: {} overdue on case {}",
            n.step.as_str(),
            n.case_id
        ));
    for t in to {
        b = b.to(t.parse().map_err(|e| format!("address {t}: {e}"))?);
    }
    let text = format!(
        "The {} step of case {} was due at {} and is overdue (escalation raised at {}).\n\nNotice {}.\n",
        n.step.as_str(),
        n.case_id,
        n.due,
        n.raised_at,
        n.id
    );
    let msg = b
        .body(text)
        .map_err(|e| format!("cannot build the email: {e}"))?;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    mailer
        .send(msg)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

/// Failpoint `jobs::notice::send` (tests only): the attempt fails as an
/// unreachable target would, and is retried.
fn injected_send_failure(deployment: &str) -> Option<String> {
    tocsin_store::fault!("jobs::notice::send", deployment, |_| Some(
        "injected fault at jobs::notice::send".to_owned()
    ));
    None
}

/// One round: sweep if due, then try every due notice once.
pub async fn run_once(
    state: &AppState,
    cfg: &JobsConfig,
    http: &reqwest::Client,
    sweep: bool,
) -> Result<(), String> {
    let svc = &state.svc;
    if sweep {
        svc.sweep().await.map_err(|e| format!("sweep: {e}"))?;
    }
    let notices = svc.notices().await.map_err(|e| e.to_string())?;
    if notices.is_empty() {
        return Ok(());
    }
    let targets: Vec<NoticeTarget> = svc.notice_targets().await.map_err(|e| e.to_string())?;
    for (doc, _) in notices {
        let Some((version, n)) = svc
            .claim_notice(&doc, cfg.retry.lease)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let target = targets.iter().find(|t| t.name == n.target);
        let result = match (injected_send_failure(svc.deployment_id()), target) {
            (Some(injected), _) => Err(injected),
            (None, None) => Err(format!("the target {} was removed", n.target)),
            (None, Some(t)) => match &t.channel {
                NoticeChannel::Webhook { url } => {
                    let secret = svc
                        .webhook_secret(t.name.as_str())
                        .await
                        .map_err(|e| e.to_string())?;
                    send_webhook(http, url.as_str(), secret, &n, svc.now()).await
                }
                NoticeChannel::Email { to } => match &cfg.smtp {
                    None => Err("no SMTP server is configured (tocsin serve --smtp)".into()),
                    Some(smtp) => {
                        let to: Vec<String> = to.iter().map(|a| a.to_string()).collect();
                        send_email(smtp, &to, &n).await
                    }
                },
            },
        };
        if let Err(e) = &result {
            tracing::warn!(notice = %n.id, attempt = n.attempts + 1, error = %e, "escalation notice not delivered");
        } else {
            tracing::info!(notice = %n.id, "escalation notice delivered");
        }
        svc.finish_notice(n, version, result, &cfg.retry)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs the jobs until `stop` is set.
pub async fn run(state: AppState, cfg: JobsConfig, mut stop: tokio::sync::watch::Receiver<bool>) {
    let http = match reqwest::Client::builder()
        .timeout(cfg.webhook_timeout)
        .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the notification client");
            return;
        }
    };
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        let sweep = last_sweep.is_none_or(|t| t.elapsed() >= cfg.sweep_every);
        if sweep {
            last_sweep = Some(std::time::Instant::now());
        }
        // Stopping never waits for a round: a sweep over many cases can take
        // long, and leaving it half done is safe (each case's append is
        // atomic; the next round does the rest; a claimed notice's lease
        // runs out and another sender retries it).
        tokio::select! {
            r = run_once(&state, &cfg, &http, sweep) => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "background jobs");
                }
            }
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.tick) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The long operations a page starts and then shows the progress of: a
/// verification of the whole ledger and a registry import. One of each
/// runs at a time in this process; asking for another while one runs
/// shows the one running. The last finished one stays to be shown.
#[derive(Default)]
pub struct Background {
    pub verification: Slot<Result<VerifyReport, Failure>>,
    pub import: Slot<Imported>,
}

/// One kind of long operation: the run in progress or the last one.
pub struct Slot<T> {
    current: Mutex<Option<Arc<Run<T>>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            current: Mutex::new(None),
        }
    }
}

/// One run: who started it and when, what it is about, how far it got,
/// and, once finished, what it found (or why it could not finish).
pub struct Run<T> {
    pub started_by: String,
    pub started_at: Timestamp,
    pub what: String,
    pub counter: Arc<Counter>,
    result: OnceLock<Result<T, String>>,
    finished: tokio::sync::Notify,
}

impl<T> Run<T> {
    /// `None` while it runs.
    pub fn result(&self) -> Option<&Result<T, String>> {
        self.result.get()
    }

    /// Waits until the run is finished, at most `limit`: whether it is.
    /// (A short run is shown done at once rather than as progress.)
    pub async fn settle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let finished = self.finished.notified();
                if self.result().is_some() {
                    return;
                }
                finished.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

impl<T: Send + Sync + 'static> Slot<T> {
    /// The run in progress, or else the last one finished.
    pub fn current(&self) -> Option<Arc<Run<T>>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts `work` in the background unless a run is in progress.
    /// Answers the run to show and whether it is the one just started.
    /// A run that stops without an answer (a panic) finishes with an error.
    pub fn start<F>(
        &self,
        started_by: String,
        started_at: Timestamp,
        what: String,
        work: impl FnOnce(Arc<Counter>) -> F,
    ) -> (Arc<Run<T>>, bool)
    where
        F: Future<Output = Result<T, String>> + Send + 'static,
    {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = current.as_ref()
            && r.result().is_none()
        {
            return (r.clone(), false);
        }
        let counter = Arc::new(Counter::default());
        let run = Arc::new(Run {
            started_by,
            started_at,
            what,
            counter: counter.clone(),
            result: OnceLock::new(),
            finished: tokio::sync::Notify::new(),
        });
        *current = Some(run.clone());
        drop(current);
        let task = tokio::spawn(work(counter));
        let done = run.clone();
        tokio::spawn(async move {
            let r = match task.await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "a background operation stopped");
                    Err("the operation stopped unexpectedly (see the server log)".to_owned())
                }
            };
            let _ = done.result.set(r);
            done.finished.notify_waiters();
        });
        (run, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_run_at_a_time_and_the_last_one_stays() {
        let slot: Slot<u64> = Slot::default();
        assert!(slot.current().is_none());
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let (first, started) = slot.start(
            "auditor".into(),
            Timestamp::UNIX_EPOCH,
            "a test".into(),
            |counter| async move {
                counter.set(1, 2);
                let _ = wait.await;
                counter.set(2, 2);
                Ok(42)
            },
        );
        assert!(started);
        assert!(!first.settle(Duration::from_millis(50)).await, "it waits");
        assert_eq!(first.counter.get(), (1, 2));
        // A second request while it runs shows the running one.
        let (second, started) = slot.start(
            "other".into(),
            Timestamp::UNIX_EPOCH,
            "another".into(),
            |_| async { Ok(7) },
        );
        assert!(!started);
        assert!(Arc::ptr_eq(&first, &second));
        let _ = go.send(());
        assert!(first.settle(Duration::from_secs(5)).await);
        assert_eq!(first.result(), Some(&Ok(42)));
        assert_eq!(first.counter.get(), (2, 2));
        // Finished, it stays to be shown, and a new one may start.
        assert!(Arc::ptr_eq(&slot.current().unwrap(), &first));
        let (third, started) = slot.start(
            "other".into(),
            Timestamp::UNIX_EPOCH,
            "another".into(),
            |_| async { Err("refused".to_owned()) },
        );
        assert!(started);
        assert!(third.settle(Duration::from_secs(5)).await);
        assert_eq!(third.result(), Some(&Err("refused".to_owned())));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
