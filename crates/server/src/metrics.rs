//! Prometheus metrics: requests and latency per route; cases by state,
//! overdue steps, time-to-decide, time-to-warn and lateness (counted by
//! the service from the query tables for an operator, at most once per
//! [`CASE_COUNTS_TTL`]: looping scrapers cannot make every other request
//! wait for a count of all cases). The case figures come from the ledger's
//! fold, so a restart changes none of them.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

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

/// A histogram of the cases as last counted: replaced whole at each count
/// (a Prometheus histogram only ever grows; these are recounted).
#[derive(Clone, Debug)]
struct Recounted(Arc<RwLock<Histogram>>);

impl Recounted {
    fn new() -> Self {
        Self(Arc::new(RwLock::new(duration_histogram())))
    }

    fn replace(&self, values: &[f64]) {
        let h = duration_histogram();
        for v in values {
            h.observe(*v);
        }
        if let Ok(mut slot) = self.0.write() {
            *slot = h;
        }
    }
}

impl TypedMetric for Recounted {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Recounted {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = self.0.read().map_err(|_| std::fmt::Error)?;
        h.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// One minute to about 68 days.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(60.0, 2.0, 17))
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
        let time_to_decide = Recounted::new();
        let time_to_warn = Recounted::new();
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
                for (l, n) in &counts.by_lateness {
                    self.lateness
                        .get_or_create(&LatenessLabels {
                            lateness: (*l).to_owned(),
                        })
                        .set(*n);
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
