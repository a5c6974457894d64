//! Human-readable text of what the domain and the API hold: a case, a
//! table of cases, the findings of the sanitisation check, a route plan.
//! (`demo` prints a case with it too.)

use std::fmt::Write;

use tocsin_domain::Timestamp;
use tocsin_domain::case::Case;
use tocsin_domain::policy::RuleOutcome;
use tocsin_domain::sanitise::Finding;
use tocsin_domain::warning_set::RoutePlanView;
use tocsin_server::api::cases::CaseRow;

/// Names, comma-separated.
pub fn join<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// A table of cases.
pub fn case_list(items: &[CaseRow], now: Timestamp) -> String {
    let mut s = String::new();
    if items.is_empty() {
        s.push_str("no cases\n");
        return s;
    }
    let _ = writeln!(
        s,
        "{:<10}  {:<36}  {:<22}  {:<19}  TITLE",
        "NUMBER", "CASE", "STATE", "NEXT"
    );
    for c in items {
        let next = match (&c.next_step, c.next_due) {
            (Some(step), Some(due)) if due < now => format!("{step} OVERDUE"),
            (Some(step), Some(due)) => format!(
                "{step} {}",
                &due.to_string()[..16.min(due.to_string().len())]
            ),
            _ => String::new(),
        };
        let mut flag = if c.reassessment_due.is_some() {
            " [re-assess]".to_owned()
        } else {
            String::new()
        };
        match &c.lateness {
            Some(tocsin_domain::case::Lateness::Late { by }) => {
                flag.push_str(&format!(" [warned {} late]", hours(*by)));
            }
            Some(tocsin_domain::case::Lateness::Unwarned { by }) => {
                flag.push_str(&format!(" [NOT WARNED, window open {}]", hours(*by)));
            }
            _ => {}
        }
        let number = c.number.map(|n| n.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<10}  {:<36}  {:<22}  {:<19}  {}{}",
            number,
            c.id,
            c.state.as_str(),
            next,
            c.title,
            flag
        );
    }
    s
}

/// A duration in hours, one decimal.
fn hours(d: jiff::SignedDuration) -> String {
    format!("{:.1} h", d.as_secs_f64() / 3600.0)
}

/// The findings of the sanitisation check, with the text marked.
pub fn findings(text: &str, findings: &[Finding]) -> String {
    let mut s = format!("{} finding(s):\n", findings.len());
    for f in findings {
        let _ = writeln!(
            s,
            "  {}..{}  {:<22} {}",
            f.start,
            f.end,
            f.category.as_str(),
            f.text
        );
    }
    let mut marked = String::new();
    let mut last = 0;
    for f in findings {
        if f.start >= last && text.is_char_boundary(f.start) && text.is_char_boundary(f.end) {
            marked.push_str(&text[last..f.start]);
            marked.push_str("[[");
            marked.push_str(&text[f.start..f.end]);
            marked.push_str("]]");
            last = f.end;
        }
    }
    marked.push_str(&text[last..]);
    let _ = write!(s, "text with findings marked:\n{marked}");
    s
}

/// What other elements bring to a case: pending contributions, merged
/// and linked cases, disputes (open ones first).
fn across_elements(c: &Case) -> String {
    use tocsin_domain::elements::RelatedAs;
    let mut s = String::new();
    for p in c.across.pending() {
        let _ = writeln!(
            s,
            "  CONTRIBUTION   {} from {} ({}), pending since {}",
            p.id, p.submitted_by, p.report.originating_element, p.submitted_at
        );
    }
    for r in &c.across.related {
        let how = match r.related_as {
            RelatedAs::MergedFrom => "merged from",
            RelatedAs::MergedInto => "merged into",
            RelatedAs::LinkedWith => "linked with",
        };
        let _ = writeln!(
            s,
            "  related        {how} case {} ({}, {})",
            r.case_id, r.by, r.at
        );
    }
    for d in &c.across.disputes {
        match &d.resolution {
            None => {
                let _ = writeln!(
                    s,
                    "  DISPUTE        {} about {}, raised by {}, arbiter due {}: {}",
                    d.id,
                    d.subject.describe(),
                    d.raised_by,
                    d.due,
                    d.statement
                );
            }
            Some(r) => {
                let _ = writeln!(
                    s,
                    "  dispute        {} about {} resolved by {}: {}",
                    d.id,
                    d.subject.describe(),
                    r.by,
                    r.value
                );
            }
        }
    }
    s
}

/// Everything about a case.
pub fn case(c: &Case, now: Timestamp) -> String {
    let mut s = String::new();
    match c.number {
        Some(n) => {
            let _ = writeln!(s, "case {n}  {}  \"{}\"", c.id, c.title);
        }
        None => {
            let _ = writeln!(s, "case {}  \"{}\"", c.id, c.title);
        }
    }
    let _ = writeln!(s, "  state          {}", c.state);
    let _ = writeln!(
        s,
        "  owner          {} (lead element: {})",
        c.owner, c.lead_element
    );
    let _ = writeln!(s, "  opened         {}", c.opened_at);
    if let Some(f) = &c.reassessment_due {
        let _ = writeln!(s, "  RE-ASSESS      {} — {}", f.reason.as_str(), f.detail);
    }
    if !c.watch_list_flags.is_empty() {
        let _ = writeln!(
            s,
            "  WATCH LIST     {} flag(s) on victims for the W3 assessment (evidence, not a waiver; see screening)",
            c.watch_list_flags.len()
        );
    }
    if let Some(d) = &c.deadlines {
        let _ = writeln!(
            s,
            "  deadlines      decide by {}, approve by {}, deliver by {}",
            d.decide_by, d.approve_by, d.deliver_by
        );
    }
    for (step, due) in c.overdue(now) {
        let _ = writeln!(s, "  OVERDUE        {} (due {due})", step.as_str());
    }
    s.push_str(&across_elements(c));
    let _ = writeln!(
        s,
        "\nreports ({}; {} independent source(s))",
        c.reports.len(),
        c.independent_sources()
    );
    let sources = c.sources();
    if sources.len() < c.reports.len() {
        for (i, src) in sources.iter().enumerate() {
            let _ = writeln!(s, "  source {}: {}", i + 1, src.describe());
        }
    }
    for (n, r) in c.reports.iter().enumerate() {
        let rep = &r.report;
        let _ = writeln!(
            s,
            "  {}. {}  from {}, received {}",
            n + 1,
            r.id,
            rep.originating_element,
            rep.received_at
        );
        if let Some(o) = &rep.origin {
            let _ = writeln!(s, "      origin: {o}");
        }
        let _ = writeln!(
            s,
            "      {} | graded {} by {}: {}",
            rep.title, rep.grading.grade, rep.grading.assessor, rep.grading.reason
        );
        let _ = writeln!(
            s,
            "      harm: {}; target: {} ({})",
            rep.harm_types.describe(),
            rep.target.kind.as_str(),
            rep.target
                .victims
                .iter()
                .map(|v| v.label())
                .collect::<Vec<_>>()
                .join("; ")
        );
        if let Some(a) = &rep.threat_actor {
            let _ = writeln!(s, "      threat actor: {}", a.name);
        }
        if let Some(l) = &rep.location {
            let _ = writeln!(s, "      where: {} ({})", l.description, l.country.name());
        }
        if let Some(w) = &rep.window {
            let _ = writeln!(s, "      when: {}", w.describe());
        }
        let _ = writeln!(
            s,
            "      specificity: {}; handling {}",
            rep.specificity.describe(),
            rep.handling.tlp.as_str()
        );
        if let tocsin_domain::event::Independence::Derived { of, basis, .. } = &r.independence {
            let _ = writeln!(
                s,
                "      derived from report {of} ({}): counts once",
                basis.describe()
            );
        }
    }
    for d in &c.determinations {
        let det = &d.determination;
        let _ = writeln!(
            s,
            "\ndetermination by {} at {}: {}",
            d.by, d.at, det.verdict
        );
        let _ = writeln!(s, "  policy {}", det.policy);
        for r in &det.trace {
            let mark = match r.outcome {
                RuleOutcome::Pass => "pass",
                RuleOutcome::Fail => "FAIL",
                RuleOutcome::Open => "open",
            };
            let _ = writeln!(s, "  [{mark}] {:<14} {}", r.rule.as_str(), r.explanation);
            for i in &r.inputs {
                let _ = writeln!(s, "         {} = {}", i.name, i.value);
            }
        }
    }
    screening(&mut s, c);
    if !c.waivers.is_empty() {
        let _ = writeln!(s, "\nwaivers");
        for w in &c.waivers {
            let _ = writeln!(
                s,
                "  {}  {} {:?} — requested by {} at {}: {}",
                w.id, w.ground, w.status, w.requested_by, w.requested_at, w.reason
            );
            if let (Some(by), Some(at)) = (&w.decided_by, w.decided_at) {
                let _ = writeln!(
                    s,
                    "      decided by {by} at {at}: {}",
                    w.decision_reason.as_ref().map(|r| r.as_str()).unwrap_or("")
                );
            }
            if let Some(r) = w.review_by {
                let _ = writeln!(s, "      review by {r}");
            }
        }
    }
    let several = c.warnings.len() > 1;
    for w in &c.warnings {
        if several {
            let _ = writeln!(
                s,
                "\n=== {} to {}: {}{}",
                w.number,
                w.recipient()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "(no route yet)".into()),
                w.status,
                if w.required { "" } else { " (optional)" }
            );
        }
        if let Some(f) = w.follow_up_by {
            let _ = writeln!(s, "  follow up by   {f}");
        }
        if let Some(r) = &w.route {
            let _ = writeln!(
                s,
                "\nroute (chosen by {} at {})\n  {}\n  why: {}",
                r.by,
                r.at,
                r.route.describe(),
                r.rationale
            );
            for a in &r.alternatives {
                let _ = writeln!(s, "  not chosen: {} — {}", a.route.describe(), a.reason);
            }
        }
        for w in &w.versions {
            let _ = writeln!(
                s,
                "\nwarning v{} ({}) sha256 {}",
                w.version, w.language, w.sha256
            );
            let _ = writeln!(
                s,
                "  drafted by {} at {}{}",
                w.drafted_by,
                w.drafted_at,
                match (&w.approved_by, w.approved_at) {
                    (Some(by), Some(at)) => format!("; approved by {by} at {at}"),
                    _ => String::new(),
                }
            );
            let _ = writeln!(
                s,
                "  withheld: {}",
                w.withheld
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for line in w.text.as_str().lines() {
                let _ = writeln!(s, "  | {line}");
            }
        }
        if !w.deliveries.is_empty() {
            let _ = writeln!(s, "\ndeliveries");
            for d in &w.deliveries {
                let x = &d.delivery;
                let _ = writeln!(
                    s,
                    "  hop {} {} (v{}, attempt {}): {} → {} via {}, {} in {}, at {}",
                    x.hop,
                    x.status.as_str(),
                    x.warning_version,
                    x.attempt,
                    x.sender,
                    x.receiver,
                    x.channel.as_str(),
                    x.medium.as_str(),
                    x.language,
                    x.time_zone.local(x.at)
                );
                if let Some(p) = &x.proof {
                    let _ = writeln!(s, "      proof: {:?}: {}", p.kind, p.reference);
                }
                if let Some(f) = &x.failure {
                    let _ = writeln!(s, "      failure: {f}");
                }
            }
        }
        if !w.responses.is_empty() {
            let _ = writeln!(s, "\nresponses");
            for r in &w.responses {
                let _ = writeln!(
                    s,
                    "  {} at {}{}",
                    r.response.kind.as_str(),
                    r.response.at,
                    r.response
                        .note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    for a in &c.advisories {
        let _ = writeln!(
            s,
            "\npublic advisory: {:?} — {}",
            a.value.decision, a.value.reason
        );
        if let Some(t) = &a.value.text {
            let _ = writeln!(s, "  | {t}");
        }
    }
    if let Some(o) = &c.outcome {
        let _ = writeln!(
            s,
            "\noutcome: {}{}{}",
            o.value.outcome.as_str(),
            o.value.at.map(|t| format!(" at {t}")).unwrap_or_default(),
            o.value
                .note
                .as_ref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default()
        );
    }
    if !c.refusals.is_empty() {
        let _ = writeln!(s, "\nrefused attempts");
        for r in &c.refusals {
            let _ = writeln!(
                s,
                "  {} by {} at {}: {}",
                r.action.as_str(),
                r.by,
                r.at,
                r.reason
            );
        }
    }
    if !c.notices.is_empty() {
        let _ = writeln!(s, "\nescalation notices");
        for n in &c.notices {
            let _ = writeln!(
                s,
                "  {} to {}: {} after {} attempt(s){}",
                n.step.as_str(),
                n.target,
                if n.delivered { "delivered" } else { "FAILED" },
                n.attempts,
                n.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
        }
    }
    let m = c.measures();
    if m.time_to_decide.is_some() || m.time_to_warn.is_some() {
        let _ = writeln!(
            s,
            "\nmeasures: time to decide {}; time to warn {}",
            m.time_to_decide.map(hours).unwrap_or_else(|| "-".into()),
            m.time_to_warn.map(hours).unwrap_or_else(|| "-".into())
        );
    }
    let _ = writeln!(s, "\ntimeline");
    for t in &c.timeline {
        let _ = writeln!(
            s,
            "  #{:<3} {}  {:<14} {}",
            t.seq,
            t.at,
            t.actor.as_str(),
            t.summary
        );
    }
    s
}

/// A route plan: candidates ranked, then the exclusions and notes.
pub fn route_plan(view: &RoutePlanView) -> String {
    let plan = &view.plan;
    let mut s = String::new();
    for c in &plan.candidates {
        let _ = writeln!(
            s,
            "{}. {}  [{}]\n   why: {}",
            c.rank,
            c.route.describe(),
            c.approach.as_str(),
            c.reason
        );
    }
    for e in &plan.excluded {
        let _ = writeln!(s, "excluded: {}\n   why: {}", e.route.describe(), e.reason);
    }
    for n in &plan.notes {
        let _ = writeln!(s, "note: {n}");
    }
    if !view.warning_set.warnings.is_empty() {
        let _ = writeln!(
            s,
            "warn together (choose the first with --candidate N, each other with --candidate N --new-warning):"
        );
        for w in &view.warning_set.warnings {
            let _ = writeln!(
                s,
                "  candidate {}: {} ({}, {})",
                w.candidate,
                w.recipient,
                w.role.as_str(),
                if w.required { "required" } else { "optional" }
            );
        }
    }
    s.trim_end().to_owned()
}

/// The screenings of a case's names and the watch-list flags.
fn screening(s: &mut String, c: &Case) {
    for sc in &c.screenings {
        let v = &sc.value;
        let regs: Vec<String> = v.registries.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            s,
            "\nscreening of report {} at {} (threshold {:.3})\n  against {}",
            v.report_id,
            sc.at,
            f64::from(v.threshold_permille) / 1000.0,
            if regs.is_empty() {
                "no registry".to_owned()
            } else {
                regs.join(", ")
            }
        );
        for u in &v.unavailable {
            let _ = writeln!(s, "  NOT SCREENED against {}: {}", u.name, u.reason);
        }
        if v.unnamed_victims > 0 {
            let _ = writeln!(
                s,
                "  {} victim(s) described, not named: not screened",
                v.unnamed_victims
            );
        }
        for subj in &v.subjects {
            let _ = writeln!(
                s,
                "  {} \"{}\": {}",
                subj.role.as_str(),
                subj.name,
                match (subj.resolved.len(), subj.listed.len()) {
                    (0, 0) => "no match".to_owned(),
                    (r, l) => format!("{r} directory match(es), {l} watch-list match(es)"),
                }
            );
            for (what, hits) in [("resolved", &subj.resolved), ("LISTED", &subj.listed)] {
                for h in hits.iter() {
                    let _ = writeln!(
                        s,
                        "      {what} {:.3} {} {} \"{}\"{}{}",
                        h.score(),
                        h.registry,
                        h.entry_id,
                        h.listed_name,
                        h.program
                            .as_ref()
                            .map(|p| format!(" [{p}]"))
                            .unwrap_or_default(),
                        if h.matched_name != h.listed_name {
                            format!(
                                " via {} \"{}\"",
                                h.name_source.replace('_', " "),
                                h.matched_name
                            )
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
    }
    if !c.watch_list_flags.is_empty() {
        let _ = writeln!(
            s,
            "\nwatch-list flags (evidence for a person's W3 assessment; never a waiver, never a change of the determination)"
        );
        for f in &c.watch_list_flags {
            let v = &f.value;
            let _ = writeln!(
                s,
                "  [{}] victim \"{}\" ~ {} \"{}\" on {} — score {:.3}",
                v.ground,
                v.subject,
                v.hit.entry_id,
                v.hit.listed_name,
                v.registry,
                v.hit.score()
            );
            let _ = writeln!(
                s,
                "      matched {} \"{}\"; {}",
                v.hit.name_source.replace('_', " "),
                v.hit.matched_name,
                v.hit.explanation
            );
            if let Some(p) = &v.hit.program {
                let _ = writeln!(s, "      programme {p}");
            }
        }
    }
}
