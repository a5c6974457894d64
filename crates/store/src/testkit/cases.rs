//! The contract of the query tables: the access filter, paging and
//! filtering case lists with their reports, numbering cases, and
//! rebuilding projections.

use super::ledger::in_one_group;
use super::*;
use crate::{
    AccessFilter, CaseQuery, Doc, DocExpect, DocKind, DocWrite, ProjectionDigest, StoreError,
};

pub async fn the_access_filter_admits_exactly_what_a_reader_may_see<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (&[], &[], &["ct"]),
        (&["secret"], &[], &["ct"]),
        (&["secret"], &["HCS"], &["ct", "fbi"]),
        (&[], &[], &["fbi"]),
    ];
    for (i, (l, c, e)) in cases.iter().enumerate() {
        let s = case(i as u128 + 1);
        let mut b = batch(s, 0, 1);
        b.summary = Some(summary(s, l, c, e));
        store.append(b).await.unwrap();
    }
    let seen = |f: AccessFilter| {
        let store = store.clone();
        async move {
            let q = CaseQuery {
                access: Some(f.clone()),
                ..Default::default()
            };
            let page = store.list_cases(&q).await.unwrap();
            let all = store.list_cases(&CaseQuery::default()).await.unwrap();
            // The database filter and the in-memory test agree.
            let expected: Vec<_> = all
                .items
                .iter()
                .filter(|s| f.admits(s))
                .map(|s| s.id)
                .collect();
            let got: Vec<_> = page.items.iter().map(|s| s.id).collect();
            assert_eq!(got, expected);
            got.len()
        }
    };
    let f = |l: &[&str], c: &[&str], e: Option<&[&str]>| AccessFilter {
        levels: strings(l),
        compartments: strings(c),
        elements: e.map(strings),
    };
    assert_eq!(seen(f(&[], &[], Some(&["ct"]))).await, 1);
    assert_eq!(seen(f(&["secret"], &[], Some(&["ct"]))).await, 2);
    assert_eq!(seen(f(&["secret"], &["HCS"], Some(&["ct"]))).await, 3);
    assert_eq!(seen(f(&["secret"], &["HCS"], None)).await, 4);
    assert_eq!(seen(f(&[], &[], Some(&["fbi"]))).await, 1);
    assert_eq!(seen(f(&[], &[], Some(&["nobody"]))).await, 0);
}

pub async fn case_lists_filter_by_determination_element_and_title<F: Fixture>() {
    use crate::VerdictFilter;
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let rows: [(&str, Option<&str>, &[&str]); 5] = [
        ("Plot at Kerman", Some("duty to warn"), &["ct"]),
        (
            "Crocus City Hall",
            Some("threshold not met (failed: R2)"),
            &["moscow"],
        ),
        (
            "100% sure_thing",
            Some("needs more information (open: R4)"),
            &["ct", "moscow"],
        ),
        ("kerman follow-up", None, &["fbi"]),
        ("Another 100 cases", None, &["ct"]),
    ];
    for (i, (title, verdict, els)) in rows.iter().enumerate() {
        let s = case(i as u128 + 1);
        let mut b = batch(s, 0, 1);
        let mut sum = summary(s, &[], &[], els);
        sum.title = (*title).into();
        sum.verdict = verdict.map(str::to_owned);
        b.summary = Some(sum);
        store.append(b).await.unwrap();
    }
    let titles = |q: CaseQuery| {
        let store = store.clone();
        async move {
            let mut t: Vec<String> = store
                .list_cases(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|s| s.title)
                .collect();
            t.sort();
            t
        }
    };
    let by = |v: VerdictFilter| CaseQuery {
        verdict: Some(v),
        ..Default::default()
    };
    assert_eq!(
        titles(by(VerdictFilter::DutyToWarn)).await,
        ["Plot at Kerman"]
    );
    assert_eq!(
        titles(by(VerdictFilter::NoDuty)).await,
        ["Crocus City Hall"]
    );
    assert_eq!(
        titles(by(VerdictFilter::NeedsMoreInformation)).await,
        ["100% sure_thing"]
    );
    assert_eq!(
        titles(by(VerdictFilter::Undetermined)).await,
        ["Another 100 cases", "kerman follow-up"]
    );
    let element = |e: &str| CaseQuery {
        element: Some(e.into()),
        ..Default::default()
    };
    assert_eq!(
        titles(element("moscow")).await,
        ["100% sure_thing", "Crocus City Hall"]
    );
    assert_eq!(titles(element("nobody")).await, Vec::<String>::new());
    let text = |t: &str| CaseQuery {
        title_contains: Some(t.into()),
        ..Default::default()
    };
    // ASCII case does not matter; % and _ are plain characters.
    assert_eq!(
        titles(text("KERMAN")).await,
        ["Plot at Kerman", "kerman follow-up"]
    );
    assert_eq!(titles(text("100%")).await, ["100% sure_thing"]);
    assert_eq!(titles(text("e_t")).await, ["100% sure_thing"]);
    assert_eq!(titles(text("%")).await, ["100% sure_thing"]);
    // Filters combine.
    let both = CaseQuery {
        element: Some("ct".into()),
        verdict: Some(VerdictFilter::Undetermined),
        ..Default::default()
    };
    assert_eq!(titles(both).await, ["Another 100 cases"]);
}

pub async fn case_lists_page_filter_and_carry_their_reports<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    for i in 1..=7u128 {
        let s = case(i);
        let mut b = batch(s, 0, 1);
        let mut sm = summary(s, &[], &[], &["ct"]);
        sm.reports = vec![
            report(i * 10, "2024-01-02T00:00:00.123456789Z"),
            report(i * 10 + 1, "2024-01-03T00:00:00Z"),
        ];
        if i % 2 == 0 {
            sm.state = tocsin_domain::case::CaseState::Closed;
        }
        if i == 3 {
            sm.reassessment_due = Some("window_lapsed".into());
            sm.next_step = Some("determine".into());
            sm.next_due = Some("2024-02-01T00:00:00Z".parse().unwrap());
            sm.sweep_at = Some("2024-01-20T00:00:00Z".parse().unwrap());
        }
        b.summary = Some(sm);
        store.append(b).await.unwrap();
    }
    // A later summary replaces the row and its reports.
    let mut b = batch(case(5), 1, 1);
    let mut sm = summary(case(5), &[], &[], &["ct"]);
    sm.version = 2;
    sm.reports = vec![report(99, "2024-01-04T00:00:00Z")];
    b.summary = Some(sm.clone());
    store.append(b).await.unwrap();

    // The formats of the report numbers of every report still listed.
    assert_eq!(
        store.report_number_formats().await.unwrap(),
        [3, 4, 5].map(|n| format!(r"TD[\s\-/]*\d{{{n}}}"))
    );
    let list = |q: CaseQuery| {
        let store = store.clone();
        async move { store.list_cases(&q).await.unwrap() }
    };
    let page = list(CaseQuery {
        limit: 3,
        ..Default::default()
    })
    .await;
    let ids = |p: &[CaseSummary]| p.iter().map(|s| s.id).collect::<Vec<_>>();
    let case_id = |i: u128| case(i).case().unwrap();
    assert_eq!(ids(&page.items), [case_id(7), case_id(6), case_id(5)]);
    // The later summary keeps the number the case was given when opened.
    assert_eq!(page.items[2], numbered(sm.clone(), 2024, 5));
    assert_eq!(page.items[0].reports.len(), 2);
    assert_eq!(
        page.items[0].reports[0].received_at.to_string(),
        "2024-01-02T00:00:00.123456789Z"
    );
    let page2 = list(CaseQuery {
        limit: 3,
        after: page.next.clone(),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&page2.items), [case_id(4), case_id(3), case_id(2)]);
    let page3 = list(CaseQuery {
        limit: 3,
        after: page2.next.clone(),
        ..Default::default()
    })
    .await;
    assert_eq!((ids(&page3.items), page3.next), (vec![case_id(1)], None));
    let bad = store
        .list_cases(&CaseQuery {
            after: Some("page two".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor(_))), "{bad:?}");
    let open = list(CaseQuery {
        open_only: true,
        ..Default::default()
    })
    .await;
    assert_eq!(open.items.len(), 4);
    let closed = list(CaseQuery {
        state: Some(tocsin_domain::case::CaseState::Closed),
        ..Default::default()
    })
    .await;
    assert_eq!(closed.items.len(), 3);
    let due = list(CaseQuery {
        reassessment_due: true,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&due.items), [case_id(3)]);
    let at = |t: &str| Some(t.parse().unwrap());
    let overdue = |t: &str| {
        list(CaseQuery {
            overdue_at: at(t),
            ..Default::default()
        })
    };
    assert_eq!(overdue("2024-02-01T00:00:00Z").await.items.len(), 0);
    assert_eq!(overdue("2024-02-01T00:00:01Z").await.items.len(), 1);
    // The most overdue first: one page, no cursor.
    let late = list(CaseQuery {
        overdue_at: at("2024-02-01T00:00:01Z"),
        most_overdue_first: true,
        limit: 1,
        ..Default::default()
    })
    .await;
    assert_eq!((ids(&late.items), late.next), (vec![case_id(3)], None));
    // By owner, with a state (the state's index) and without.
    let owned = |owner: &str, state| {
        list(CaseQuery {
            owner: Some(owner.into()),
            state,
            open_only: true,
            ..Default::default()
        })
    };
    assert_eq!(owned("o", None).await.items.len(), 4);
    assert_eq!(owned("someone else", None).await.items.len(), 0);
    let awaiting = Some(tocsin_domain::case::CaseState::AwaitingDetermination);
    assert_eq!(
        owned("o", awaiting).await.items.len(),
        list(CaseQuery {
            state: awaiting,
            ..Default::default()
        })
        .await
        .items
        .len()
    );
    // The gauges' counters follow every row written, replaced ones too.
    let all = list(CaseQuery {
        limit: 100,
        ..Default::default()
    })
    .await
    .items;
    assert_eq!(
        store.case_counters().await.unwrap(),
        crate::counts::totals(&all)
    );
    let g = store
        .case_gauges(at("2024-02-01T00:00:01Z").unwrap())
        .await
        .unwrap();
    assert_eq!(g.overdue, 1);
    assert_eq!(g.reassessment_due, 1);
    assert!(
        g.by_state
            .contains(&(tocsin_domain::case::CaseState::Closed, 3))
    );
    assert_eq!(g.time_to_decide.count, 7);
    assert_eq!(g.time_to_decide.sum_s, 7 * 7200);
    // The testkit's summaries carry a duty and no warning, but no window:
    // none is unwarned.
    assert_eq!(g.unwarned, 0);
    let sweep = |t: &str| {
        list(CaseQuery {
            sweep_due_at: at(t),
            ..Default::default()
        })
    };
    assert!(sweep("2024-01-19T23:59:59Z").await.items.is_empty());
    assert_eq!(
        ids(&sweep("2024-01-20T00:00:00Z").await.items),
        [case_id(3)]
    );

    assert_eq!(
        store.case_ids().await.unwrap(),
        (1..=7).map(case_id).collect::<Vec<_>>()
    );
    let prefix = case_id(3).to_string();
    let found = store
        .case_ids_with_prefix(&prefix[..prefix.len() - 1].to_uppercase(), 10)
        .await
        .unwrap();
    assert!(found.contains(&case_id(3)), "{found:?}");
    assert_eq!(
        store.case_ids_with_prefix("%", 10).await.unwrap().len(),
        7,
        "a wildcard in the prefix is dropped"
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
}

pub async fn replacing_projections_rebuilds_cases_and_derived_documents<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    for i in 1..=3u128 {
        let mut b = batch(case(i), 0, 1);
        b.summary = Some(summary(case(i), &[], &[], &[]));
        store.append(b).await.unwrap();
    }
    store
        .write_docs(vec![
            DocWrite::put(DocKind::Account, "old", DocExpect::Any, &"old"),
            DocWrite::put(DocKind::Session, "s", DocExpect::Any, &"session"),
        ])
        .await
        .unwrap();
    let before = store.projection_digest().await.unwrap();
    assert_eq!((before.cases, before.docs), (3, 1));
    let doc = |kind, key: &str| Doc {
        kind,
        key: key.into(),
        version: 1,
        body: key.as_bytes().to_vec(),
    };
    let mut sm = summary(case(2), &["secret"], &[], &["ct"]);
    sm.reports = vec![report(1, "2024-01-02T00:00:00Z")];
    store
        .replace_projections(
            vec![sm.clone()],
            vec![doc(DocKind::Account, "new"), doc(DocKind::Element, "ct")],
        )
        .await
        .unwrap();
    let all = store.list_cases(&CaseQuery::default()).await.unwrap();
    assert_eq!(all.items, vec![sm.clone()]);
    // The gauges' counters start again from the rows written.
    assert_eq!(
        store.case_counters().await.unwrap(),
        crate::counts::totals([&sm])
    );
    assert!(
        store
            .get_doc(DocKind::Account, "old")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_doc(DocKind::Account, "new")
            .await
            .unwrap()
            .is_some()
    );
    // Documents that are not derived survive a rebuild.
    assert!(
        store
            .get_doc(DocKind::Session, "s")
            .await
            .unwrap()
            .is_some()
    );
    let after = store.projection_digest().await.unwrap();
    assert_eq!((after.cases, after.reports, after.docs), (1, 1, 2));
    assert_eq!(
        after,
        ProjectionDigest::of(
            &[sm.clone()],
            &[doc(DocKind::Account, "new"), doc(DocKind::Element, "ct")]
        )
    );
    // A document given twice fails the rebuild, which changes nothing.
    assert!(matches!(
        store
            .replace_projections(
                vec![],
                vec![doc(DocKind::Account, "a"), doc(DocKind::Account, "a")]
            )
            .await,
        Err(StoreError::DocConflict { .. })
    ));
    assert_eq!(store.projection_digest().await.unwrap(), after);
    // A summary for a case the ledger does not have is refused.
    assert!(matches!(
        store
            .replace_projections(vec![summary(case(42), &[], &[], &[])], vec![])
            .await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(store.projection_digest().await.unwrap(), after);
}

pub async fn cases_are_numbered_by_year_in_ledger_order<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let opening = |i: u128, at: &str| {
        let mut b = batch(case(i), 0, 1);
        let mut s = summary(case(i), &[], &[], &[]);
        s.opened_at = at.parse().unwrap();
        b.summary = Some(s);
        b
    };
    let n = |y: u16, s: u32| tocsin_domain::CaseNumber::new(y, s).unwrap();
    let id = |i: u128| case(i).case().unwrap();
    // In one group: a 2023 case, a 2024 case, the first one again (a stale
    // version), a 2023 case whose document fails (its savepoint is rolled
    // back), and another 2023 case. Refused openings use no number.
    let taken = DocWrite::put(DocKind::Account, "taken", DocExpect::Absent, &1);
    store.write_docs(vec![taken.clone()]).await.unwrap();
    let mut failing = opening(4, "2023-06-01T00:00:00Z");
    failing.docs = vec![taken];
    let (a, b, c, d, e) = in_one_group(&f, async {
        tokio::join!(
            store.append(opening(1, "2023-12-31T23:59:59Z")),
            store.append(opening(2, "2024-01-01T00:00:00Z")),
            store.append(opening(1, "2023-12-31T23:59:59Z")),
            store.append(failing),
            store.append(opening(5, "2023-03-01T00:00:00+05:00")),
        )
    })
    .await;
    assert_eq!(a.unwrap().case_number, Some(n(2023, 1)));
    assert_eq!(b.unwrap().case_number, Some(n(2024, 1)));
    assert!(matches!(c, Err(StoreError::Conflict { .. })), "{c:?}");
    assert!(matches!(d, Err(StoreError::DocConflict { .. })), "{d:?}");
    assert_eq!(e.unwrap().case_number, Some(n(2023, 2)));
    assert_eq!(commits(&store).await, 1, "one group");
    // Numbering goes on from what is stored, in a later group.
    let later = store
        .append(opening(6, "2024-05-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(later.case_number, Some(n(2024, 2)));
    // A later append to a case neither numbers it again nor loses it.
    let mut again = batch(case(1), 1, 1);
    again.summary = Some(summary(case(1), &[], &[], &[]));
    assert_eq!(store.append(again).await.unwrap().case_number, None);
    for (i, num) in [
        (1, n(2023, 1)),
        (2, n(2024, 1)),
        (5, n(2023, 2)),
        (6, n(2024, 2)),
    ] {
        assert_eq!(store.case_by_number(num).await.unwrap(), Some(id(i)));
        let s = store.case_summary(id(i)).await.unwrap().unwrap();
        assert_eq!(s.number, Some(num), "case {i}");
    }
    assert_eq!(store.case_by_number(n(2023, 3)).await.unwrap(), None);
    assert_eq!(store.case_summary(id(4)).await.unwrap(), None);
    // A rebuild writes the numbers it is given.
    let mut all = store.list_cases(&CaseQuery::default()).await.unwrap().items;
    all.reverse();
    store
        .replace_projections(all.clone(), vec![])
        .await
        .unwrap();
    assert_eq!(store.case_by_number(n(2024, 2)).await.unwrap(), Some(id(6)));
    assert_eq!(
        store.case_summary(id(5)).await.unwrap().unwrap().number,
        Some(n(2023, 2))
    );
}
