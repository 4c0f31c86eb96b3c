//! The [`Inventory`] contract: an operator's profile search (filters, keyset pages, limits)
//! and a profile's history, on every store. The expected answers come from
//! [`ProfileFilter::matches`] over the profiles the scenario stored, so every store is held
//! to the same (pure) definition.

use simforge_asn1::{Eid, Iccid, MatchingId};
use simforge_smdp::inventory::MAX_LIMIT;
use simforge_smdp::{
    Event, IccidPrefix, Inventory, ProfileFilter, ProfileRecord, ProfileState, ProfileSummary,
    SCAN_MAX, SearchPage, SmdpStore, SmdpTx,
};

use super::backends::{A, B};
use super::smdp::profile;

/// A valid EID (ISO 7064 MOD 97-10 check digits) from a number.
fn eid(n: u32) -> Eid {
    let body = format!("890490321234512345123456{n:06}");
    let rem = body
        .bytes()
        .fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
    let check = 98 - (rem * 100) % 97;
    Eid::parse(&format!("{body}{check:02}")).unwrap()
}

/// The profiles of the scenario: 40 interleaved ICCIDs (every fourth of operator B), of
/// types `t` and `u`, in three states, some with an EID, a matchingId, download attempts;
/// and two of A under another prefix.
fn profiles() -> Vec<ProfileRecord> {
    let mut out = Vec::new();
    for i in 0..40u32 {
        let op = if i % 4 == 3 { B } else { A };
        let mut p = profile(op, &format!("8949440000000000{i:03}"));
        p.profile_type = if i % 3 == 0 { "u" } else { "t" }.into();
        p.state = [
            ProfileState::Available,
            ProfileState::Released,
            ProfileState::Installed,
        ][(i % 5 % 3) as usize];
        if p.state != ProfileState::Available {
            p.eid = Some(eid(i % 4));
            p.matching_id = Some(MatchingId::parse(&format!("MID-{i}")).unwrap());
            p.download_attempts = i % 3;
        }
        p.updated_at = 1_000 + i64::from(i);
        p.cc_hash = Some(vec![0xCC; 32]);
        out.push(p);
    }
    for iccid in ["8948440000000000001", "89484400000000000020"] {
        out.push(profile(A, iccid));
    }
    out
}

async fn insert<S: SmdpStore>(store: &S, profiles: &[ProfileRecord]) {
    let mut tx = store.begin().await.unwrap();
    for p in profiles {
        tx.insert_profile(p).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// What `f` must find, in order (all pages).
fn expected(all: &[ProfileRecord], f: &ProfileFilter) -> Vec<ProfileSummary> {
    let mut v: Vec<&ProfileRecord> = all.iter().filter(|p| f.matches(p)).collect();
    v.sort_by(|a, b| a.iccid.cmp(&b.iccid));
    v.into_iter().map(ProfileSummary::from).collect()
}

/// Every page of `f` (its `after` set from the previous page's last ICCID).
async fn all_pages<S: Inventory>(store: &S, f: &ProfileFilter) -> Vec<ProfileSummary> {
    let mut f = f.clone();
    let mut out: Vec<ProfileSummary> = Vec::new();
    for _ in 0..100 {
        let page = store.search(&f).await.unwrap();
        assert!(
            page.rows.len() <= f.limit() as usize,
            "{f:?}: {}",
            page.rows.len()
        );
        // Without dates, a page goes on only when it is full, from its last row.
        if !f.dated() {
            let full = page.rows.len() == f.limit() as usize;
            let last = page.rows.last().map(|p| p.iccid.clone());
            assert_eq!(page.next_after, last.filter(|_| full), "{f:?}");
            assert_eq!(page.scanned, None, "{f:?}");
        }
        out.extend(page.rows);
        let Some(next) = page.next_after else {
            return out;
        };
        assert!(f.after.as_ref().is_none_or(|a| &next > a), "{f:?}: {next}");
        f.after = Some(next);
    }
    panic!("{f:?}: more than 100 pages");
}

/// The pages of `f` as [`SearchPage::from_range`] defines them over `all` (what every store
/// must answer, page by page).
fn reference_pages(all: &[ProfileRecord], f: &ProfileFilter) -> Vec<SearchPage> {
    let mut sorted: Vec<&ProfileRecord> = all.iter().collect();
    sorted.sort_by(|a, b| a.iccid.cmp(&b.iccid));
    let mut f = f.clone();
    let mut pages = Vec::new();
    loop {
        let range = sorted
            .iter()
            .filter(|p| f.in_range(p))
            .map(|p| (ProfileSummary::from(*p), f.in_window(p.updated_at)));
        let page = SearchPage::from_range(&f, range);
        let next = page.next_after.clone();
        pages.push(page);
        match next {
            Some(n) => f.after = Some(n),
            None => return pages,
        }
    }
}

/// A search by date: a bounded scan of the same index range (a small `scan_max` here, the
/// profiles spread over many times it), pages that may be short or empty yet go on from
/// where the scan stopped; across the pages every profile changed in the window exactly
/// once, in ICCID order, none outside it, another tenant's never; page by page what
/// [`SearchPage::from_range`] defines.
pub async fn search_by_date<S: SmdpStore + Inventory>(store: S) {
    let mut all = Vec::new();
    for i in 0..300u32 {
        let op = if i % 7 == 3 { B } else { A };
        let mut p = profile(op, &format!("8949441000000000{i:03}"));
        p.state = [ProfileState::Available, ProfileState::Released][(i % 3 % 2) as usize];
        p.profile_type = if i % 5 == 0 { "u" } else { "t" }.into();
        // Times spread over 0..1000 out of ICCID order; a cluster at the end.
        p.updated_at = if i >= 280 {
            5_000
        } else {
            i64::from(i * 389 % 1000)
        };
        all.push(p);
    }
    insert(&store, &all).await;
    let f = |from: Option<i64>, until: Option<i64>| ProfileFilter {
        updated_from: from,
        updated_until: until,
        scan_max: 16,
        limit: 5,
        ..ProfileFilter::new(A)
    };
    let filters = vec![
        f(Some(100), Some(200)),
        f(Some(100), None),
        f(None, Some(50)),
        f(Some(5_000), Some(5_001)),
        f(Some(2_000), Some(3_000)),
        f(Some(i64::MIN), Some(i64::MAX)),
        ProfileFilter {
            limit: 1,
            ..f(Some(0), Some(300))
        },
        ProfileFilter {
            limit: 1000,
            ..f(Some(0), Some(300))
        },
        ProfileFilter {
            scan_max: 1,
            ..f(Some(500), Some(700))
        },
        ProfileFilter {
            scan_max: u32::MAX,
            ..f(Some(500), Some(700))
        },
        ProfileFilter {
            state: Some(ProfileState::Released),
            ..f(Some(0), Some(500))
        },
        ProfileFilter {
            profile_type: Some("u".into()),
            state: Some(ProfileState::Available),
            ..f(Some(0), Some(900))
        },
        ProfileFilter {
            iccid_prefix: Some(IccidPrefix::parse("89494410000000001").unwrap()),
            ..f(Some(0), Some(500))
        },
        ProfileFilter {
            after: Some("8949441000000000150".parse().unwrap()),
            ..f(Some(300), Some(600))
        },
        ProfileFilter {
            updated_from: Some(0),
            ..f(None, Some(1_000))
        },
        ProfileFilter {
            scan_max: 16,
            ..f(Some(0), Some(1_000))
        },
        ProfileFilter {
            operator: B,
            ..f(Some(0), Some(400))
        },
    ];
    let mut short_pages = 0;
    let mut empty_pages = 0;
    for filter in &filters {
        let want = expected(&all, filter);
        let reference = reference_pages(&all, filter);
        // Page by page as the reference, and all pages together as the oracle.
        let mut g = filter.clone();
        let mut got: Vec<ProfileSummary> = Vec::new();
        for (n, r) in reference.iter().enumerate() {
            let page = store.search(&g).await.unwrap();
            assert_eq!(&page, r, "{filter:?}: page {n}");
            assert!(page.rows.len() <= g.limit() as usize);
            assert!(
                page.rows.iter().all(
                    |p| filter.in_window(p.updated_at) && got.iter().all(|q| q.iccid < p.iccid)
                ),
                "{filter:?}: page {n}"
            );
            if page.scanned.is_some() {
                assert_eq!(page.scanned, Some(g.scan_max()), "{filter:?}");
                assert!(page.rows.len() < g.limit() as usize, "{filter:?}");
                short_pages += 1;
                empty_pages += usize::from(page.rows.is_empty());
            }
            got.extend(page.rows);
            g.after = page.next_after;
        }
        assert_eq!(got, want, "{filter:?}");
    }
    // Not vacuous: windows with many matches, pages cut short by the scan, empty ones too;
    // a scan_max above the constant is the constant.
    assert!(expected(&all, &filters[0]).len() > 16);
    assert!(
        short_pages > 10 && empty_pages > 3,
        "{short_pages} {empty_pages}"
    );
    assert_eq!(filters[9].scan_max(), SCAN_MAX);
    assert!(expected(&all, &filters[3]).len() == 17);
    assert!(expected(&all, &filters[4]).is_empty());
}

/// Filters, keyset pages that cover everything exactly once, another tenant's profiles never
/// returned, limits clamped; the history of a profile in order and scoped to its operator.
pub async fn search_and_history<S: SmdpStore + Inventory>(store: S) {
    let all = profiles();
    insert(&store, &all).await;

    let f = |op| ProfileFilter {
        limit: 7,
        ..ProfileFilter::new(op)
    };
    let state = |s| Some(s);
    let prefix = |p: &str| Some(IccidPrefix::parse(p).unwrap());
    let filters = vec![
        f(A),
        f(B),
        f(3),
        ProfileFilter {
            state: state(ProfileState::Released),
            ..f(A)
        },
        ProfileFilter {
            state: state(ProfileState::Installed),
            limit: 2,
            ..f(B)
        },
        ProfileFilter {
            profile_type: Some("u".into()),
            ..f(A)
        },
        ProfileFilter {
            profile_type: Some("t".into()),
            state: state(ProfileState::Available),
            limit: 3,
            ..f(A)
        },
        ProfileFilter {
            eid: Some(eid(1)),
            ..f(A)
        },
        ProfileFilter {
            eid: Some(eid(3)),
            ..f(A)
        },
        ProfileFilter {
            eid: Some(eid(3)),
            state: state(ProfileState::Released),
            ..f(B)
        },
        ProfileFilter {
            matching_id: Some(MatchingId::parse("MID-6").unwrap()),
            ..f(A)
        },
        ProfileFilter {
            matching_id: Some(MatchingId::parse("MID-7").unwrap()),
            ..f(A)
        },
        ProfileFilter {
            iccid_prefix: prefix("894844"),
            ..f(A)
        },
        ProfileFilter {
            iccid_prefix: prefix("89494400000000000"),
            limit: 4,
            ..f(A)
        },
        ProfileFilter {
            iccid_prefix: prefix("894944000000000002"),
            state: state(ProfileState::Installed),
            limit: 1,
            ..f(A)
        },
        ProfileFilter {
            iccid_prefix: prefix("8949440000000000018"),
            ..f(A)
        },
        ProfileFilter {
            iccid_prefix: prefix("9"),
            ..f(A)
        },
        ProfileFilter {
            after: Some("8949440000000000030".parse().unwrap()),
            ..f(A)
        },
    ];
    for filter in &filters {
        let want = expected(&all, filter);
        let got = all_pages(&store, filter).await;
        assert_eq!(got, want, "{filter:?}");
        // Another tenant's profile is never in an answer.
        assert!(
            got.iter().all(|s| all
                .iter()
                .any(|p| p.iccid == s.iccid && p.operator_id == filter.operator)),
            "{filter:?}"
        );
    }
    // The oracle is not vacuous: the pages above found what they should.
    assert_eq!(expected(&all, &f(A)).len(), 32);
    assert_eq!(expected(&all, &f(B)).len(), 10);
    for (i, filter) in filters.iter().enumerate() {
        // Operator 3 has nothing, EID 3 and MID-7 are B's, no ICCID starts with 9.
        let empty = [2, 8, 11, 16].contains(&i);
        assert_eq!(expected(&all, filter).is_empty(), empty, "{filter:?}");
    }

    // Limits: 0 is one row, more than the maximum is the maximum.
    let many: Vec<ProfileRecord> = (0..MAX_LIMIT + 5)
        .map(|i| profile(A, &format!("8947{i:015}")))
        .collect();
    insert(&store, &many).await;
    let one = store
        .search(&ProfileFilter {
            limit: 0,
            ..ProfileFilter::new(A)
        })
        .await
        .unwrap();
    assert_eq!(one.rows.len(), 1);
    assert_eq!(one.rows[0].iccid.as_str(), "8947000000000000000");
    let max = store
        .search(&ProfileFilter {
            limit: u32::MAX,
            ..ProfileFilter::new(A)
        })
        .await
        .unwrap();
    assert_eq!(max.rows.len(), MAX_LIMIT as usize);

    // History: the events of one profile of its operator, oldest first.
    let x: Iccid = "8949440000000000001".parse().unwrap();
    let y: Iccid = "8949440000000000002".parse().unwrap();
    let of_b: Iccid = "8949440000000000003".parse().unwrap();
    let state_change = |op, iccid: &Iccid, from, to, at| Event::ProfileState {
        operator_id: op,
        iccid: iccid.clone(),
        from,
        to,
        at,
    };
    let pir_failed = Event::DownloadProgress {
        operator_id: A,
        iccid: x.clone(),
        profile_type: "t".into(),
        eid: Some(eid(1)),
        point: 4,
        failure: Some(("8.2".into(), "3.7".into())),
        result_data: Some(vec![0xBF, 0x37, 0x03, 0x01, 0x02, 0x03]),
        at: 2_002,
    };
    let events = [
        vec![
            state_change(
                A,
                &x,
                ProfileState::Available,
                ProfileState::Released,
                2_000,
            ),
            state_change(
                A,
                &y,
                ProfileState::Available,
                ProfileState::Released,
                2_000,
            ),
        ],
        vec![state_change(
            B,
            &of_b,
            ProfileState::Released,
            ProfileState::Downloaded,
            2_001,
        )],
        vec![
            pir_failed.clone(),
            state_change(
                A,
                &x,
                ProfileState::Downloaded,
                ProfileState::Released,
                2_002,
            ),
        ],
        vec![state_change(
            A,
            &y,
            ProfileState::Released,
            ProfileState::Installed,
            2_003,
        )],
    ];
    for batch in &events {
        let mut tx = store.begin().await.unwrap();
        tx.push_events(batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    let history = store.history(A, &x, None, 100).await.unwrap();
    let got: Vec<&Event> = history.iter().map(|h| &h.event).collect();
    assert_eq!(
        got,
        vec![&events[0][0], &pir_failed, &events[2][1]],
        "{history:?}"
    );
    assert!(history.windows(2).all(|w| w[0].id < w[1].id), "{history:?}");
    // Pages.
    let first = store.history(A, &x, None, 2).await.unwrap();
    assert_eq!(first, history[..2]);
    let rest = store.history(A, &x, Some(first[1].id), 2).await.unwrap();
    assert_eq!(rest, history[2..]);
    assert!(
        store
            .history(A, &x, Some(history[2].id), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.history(A, &x, None, 0).await.unwrap().len(), 1);
    // Another operator sees nothing of A's profile, A nothing of B's.
    assert!(store.history(B, &x, None, 100).await.unwrap().is_empty());
    assert!(store.history(A, &of_b, None, 100).await.unwrap().is_empty());
    assert_eq!(store.history(B, &of_b, None, 100).await.unwrap().len(), 1);
    assert_eq!(store.history(A, &y, None, 100).await.unwrap().len(), 2);
}

/// The history of a real download, as the SM-DP+ records it: the order's state changes, the
/// BPP delivered (point 3), an installation that failed (point 4, 8.2/3.7, with the eUICC's
/// bppCommandId and errorReason in its result data), the retry, the installation; nothing of
/// it for another operator.
pub async fn history_of_a_download<S: SmdpStore + Inventory>(store: S) {
    use simforge_asn1::rsp::{BppCommandId, ErrorReason};
    use simforge_pki::Curve;
    use simforge_smdp::InstallationError;
    use simforge_smdp::profile::iccid_to_bcd;

    use super::{ICCID, NOW, TestEuicc, auth, lab, released_order, smdp_on};

    let pki = lab(Curve::P256, 1);
    let smdp = smdp_on(store, &pki);
    let mid = released_order(&smdp, A).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    for success in [false, true] {
        let ac = auth(&smdp, &mut e, &mid).await;
        let (bpp, _) = smdp
            .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
            .await
            .unwrap();
        e.load_bpp(&bpp);
        smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), success), NOW)
            .await
            .unwrap();
    }
    let iccid: Iccid = ICCID.parse().unwrap();
    let history = smdp.store().history(A, &iccid, None, 100).await.unwrap();
    assert!(history.windows(2).all(|w| w[0].id < w[1].id), "{history:?}");
    let states: Vec<(ProfileState, ProfileState)> = history
        .iter()
        .filter_map(|h| match h.event {
            Event::ProfileState { from, to, .. } => Some((from, to)),
            Event::DownloadProgress { .. } => None,
        })
        .collect();
    use ProfileState::{Allocated, Available, Downloaded, Installed, Released};
    assert_eq!(states.first(), Some(&(Available, Allocated)), "{states:?}");
    assert_eq!(
        &states[states.len() - 4..],
        &[
            (Released, Downloaded),
            (Downloaded, Released),
            (Released, Downloaded),
            (Downloaded, Installed)
        ],
        "{states:?}"
    );
    let points: Vec<(u32, Option<(String, String)>)> = history
        .iter()
        .filter_map(|h| match &h.event {
            Event::DownloadProgress { point, failure, .. } => Some((*point, failure.clone())),
            Event::ProfileState { .. } => None,
        })
        .filter(|(p, _)| *p >= 3)
        .collect();
    let failed = Some(("8.2".to_owned(), "3.7".to_owned()));
    assert_eq!(
        points,
        vec![(3, None), (4, failed), (3, None), (4, None)],
        "{history:?}"
    );
    let errors: Vec<InstallationError> = history
        .iter()
        .filter_map(|h| h.installation_error())
        .collect();
    assert_eq!(
        errors,
        vec![InstallationError {
            bpp_command_id: BppCommandId::LOAD_PROFILE_ELEMENTS,
            error_reason: ErrorReason::INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR,
        }]
    );
    assert!(
        smdp.store()
            .history(B, &iccid, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // The dashboards' activity: one install and one failure (by its reason) in NOW's hour,
    // nothing in the hour before, nothing for another operator.
    let (since, until) = simforge_smdp::Activity::window(NOW, 2);
    let a = smdp.store().activity(A, since, until).await.unwrap();
    let hours: Vec<(u64, u64)> = a.hours.iter().map(|h| (h.installed, h.failed)).collect();
    assert_eq!(hours, [(0, 0), (1, 1)], "{a:?}");
    assert_eq!(a.failures, [("8.2/3.7".to_owned(), 1)], "{a:?}");
    let b = smdp.store().activity(B, since, until).await.unwrap();
    assert!(
        b.hours.iter().all(|h| h.installed == 0 && h.failed == 0),
        "{b:?}"
    );
    assert!(b.failures.is_empty());
    // The search shows where it ended.
    let found = smdp
        .store()
        .search(&ProfileFilter {
            eid: Some(e.eid),
            ..ProfileFilter::new(A)
        })
        .await
        .unwrap();
    assert_eq!(found.rows.len(), 1);
    assert_eq!(
        (found.rows[0].state, found.rows[0].download_attempts),
        (ProfileState::Installed, 2)
    );
}
