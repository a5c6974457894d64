//! Prometheus metrics: requests and latency per route; cases by state,
//! overdue steps, time-to-decide, time-to-warn and lateness. The case
//! figures are counters the store keeps with every case row (no scan of
//! the cases), read for an operator at most once per [`CASE_COUNTS_TTL`];
//! they come from the ledger's fold, so a restart changes none of them.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use tocsin_store::counts::{BUCKETS, Counted};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatenessLabels {
    pub lateness: String,
}

/// A histogram of the cases as the store counts it (kept with every case
/// row), replaced whole at each count.
#[derive(Clone, Debug, Default)]
struct Recounted(Arc<RwLock<Counted>>);

impl Recounted {
    fn replace(&self, counted: &Counted) {
        if let Ok(mut slot) = self.0.write() {
            *slot = counted.clone();
        }
    }
}

impl TypedMetric for Recounted {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Recounted {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let c = self.0.read().map_err(|_| std::fmt::Error)?;
        let n = |x: i64| u64::try_from(x).unwrap_or(0);
        let buckets: Vec<(f64, u64)> = if c.buckets.is_empty() {
            BUCKETS
                .iter()
                .map(|b| *b as f64)
                .chain([f64::MAX])
                .map(|b| (b, 0))
                .collect()
        } else {
            c.buckets
                .iter()
                .map(|(le, k)| (le.map_or(f64::MAX, |b| b as f64), n(*k)))
                .collect()
        };
        encoder.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            c.sum_s as f64,
            n(c.count),
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// How long a count of the cases serves scrapes before it is counted again.
pub const CASE_COUNTS_TTL: Duration = Duration::from_secs(15);

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    time_to_decide: Recounted,
    time_to_warn: Recounted,
    cases: Family<StateLabels, Gauge>,
    lateness: Family<LatenessLabels, Gauge>,
    overdue: Gauge,
    reassessment_due: Gauge,
    /// When the case gauges were last counted (one count at a time).
    counted: tokio::sync::Mutex<Option<Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tocsin");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let cases = Family::<StateLabels, Gauge>::default();
        let time_to_decide = Recounted::default();
        let time_to_warn = Recounted::default();
        let lateness = Family::<LatenessLabels, Gauge>::default();
        registry.register(
            "time_to_decide_seconds",
            "From the first report's receipt to the first determination",
            time_to_decide.clone(),
        );
        registry.register(
            "time_to_warn_seconds",
            "From the first report's receipt to the warning received at the end of its route",
            time_to_warn.clone(),
        );
        let overdue = Gauge::default();
        let reassessment_due = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        registry.register("cases", "Cases by state", cases.clone());
        registry.register(
            "duty_cases",
            "Cases with a standing duty to warn, by lateness: in_time, late (warned after the window opened), unwarned (the window has opened)",
            lateness.clone(),
        );
        registry.register(
            "overdue_steps",
            "Open cases whose next step is past its deadline",
            overdue.clone(),
        );
        registry.register(
            "reassessment_due_cases",
            "Cases flagged for re-assessment",
            reassessment_due.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            time_to_decide,
            time_to_warn,
            cases,
            lateness,
            overdue,
            reassessment_due,
            counted: tokio::sync::Mutex::new(None),
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Refreshes the case gauges (counted by the service for `p`, unless
    /// a count younger than [`CASE_COUNTS_TTL`] stands) and encodes
    /// everything.
    pub async fn render(
        &self,
        svc: &tocsin_service::Service,
        p: &tocsin_service::Principal,
    ) -> Result<String, crate::ApiError> {
        {
            // One count at a time; scrapes meanwhile wait for it and reuse it.
            let mut counted = self.counted.lock().await;
            // The permission is checked on every scrape, fresh count or not.
            let fresh = counted.is_some_and(|t| t.elapsed() < CASE_COUNTS_TTL);
            if fresh {
                svc.authorize(p, tocsin_domain::access::Permission::Operate, "case_counts")
                    .await?;
            } else {
                let counts = svc.case_counts(p).await?;
                for (state, n) in counts.by_state {
                    self.cases
                        .get_or_create(&StateLabels {
                            state: state.as_str().to_owned(),
                        })
                        .set(n);
                }
                for (l, n) in [
                    ("in_time", counts.in_time),
                    ("late", counts.late),
                    ("unwarned", counts.unwarned),
                ] {
                    self.lateness
                        .get_or_create(&LatenessLabels {
                            lateness: l.to_owned(),
                        })
                        .set(n);
                }
                self.time_to_decide.replace(&counts.time_to_decide);
                self.time_to_warn.replace(&counts.time_to_warn);
                self.overdue.set(counts.overdue);
                self.reassessment_due.set(counts.reassessment_due);
                *counted = Some(Instant::now());
            }
        }
        let mut out = String::new();
        let reg = self
            .registry
            .lock()
            .map_err(|_| crate::ApiError::internal("metrics registry poisoned"))?;
        prometheus_client::encoding::text::encode(&mut out, &reg)
            .map_err(|e| crate::ApiError::internal(e.to_string()))?;
        Ok(out)
    }
}
