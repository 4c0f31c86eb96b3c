//! Two LPAs (two real eUICCs) downloading from one small pool of profiles, their ES9+ calls
//! interleaved at random by [`Pair::interleave`]: no profile is ever handed out twice, every
//! profile on a card is the SM-DP+'s Installed profile bound to that card's EID, and no
//! profile is on both cards.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use proptest::prelude::*;
use simforge_pki::{Curve, LabPki};
use simforge_smdp::ProfileState;
use simforge_testkit::Pair;
use simforge_testkit::lab::lab;
use simforge_testkit::profiles::iccid;

static PKI: LazyLock<LabPki> = LazyLock::new(|| lab(Curve::P256, 2));

/// What one LPA does with the activation codes it is given.
#[derive(Clone, Debug)]
struct Plan {
    /// Indexes into the activation codes, downloaded in turn.
    downloads: Vec<usize>,
    /// Whether each profile downloaded is deleted again (and the notification sent).
    delete: bool,
}

fn plan() -> impl Strategy<Value = Plan> {
    (prop::collection::vec(0usize..4, 1..=3), any::<bool>())
        .prop_map(|(downloads, delete)| Plan { downloads, delete })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn two_lpas_never_get_one_profile_twice(
        pool in 1u32..=3,
        orders in 1usize..=4,
        any_eid in any::<bool>(),
        plans in [plan(), plan()],
        schedule in prop::collection::vec(0usize..2, 0..48),
    ) {
        let mut pair = Pair::with(PKI.clone(), |_| {});
        let iccids: Vec<String> = (0..pool).map(|n| iccid(100 + n)).collect();
        let refs: Vec<&str> = iccids.iter().map(String::as_str).collect();
        pair.add_profiles(&refs, true);
        // Orders for any eUICC (or bound to one, alternately), as long as the pool lasts.
        let codes: Vec<String> = (0..orders)
            .filter_map(|k| {
                let eid = (!any_eid).then(|| pair.eid(k % 2));
                pair.order(None, eid, None).ok()
            })
            .map(|o| o.activation_code())
            .collect();
        prop_assert_eq!(codes.len(), orders.min(pool as usize));

        let got = pair.interleave(&schedule, |device, lpa| {
            let plan = &plans[device];
            let mut got = Vec::new();
            for k in &plan.downloads {
                let Ok(out) = lpa.download(&codes[k % codes.len()], None) else {
                    continue;
                };
                got.push(out.iccid.clone());
                if plan.delete {
                    lpa.delete(&out.iccid).expect("delete");
                    lpa.process_notifications().expect("notifications");
                }
            }
            got
        });
        let got: Vec<Vec<String>> = got
            .into_iter()
            .map(|r| r.expect("ISD-R opens"))
            .collect();

        // Never one profile handed out twice (an order is used once, and a deleted
        // profile back in the pool needs a new order).
        let all: Vec<&String> = got.iter().flatten().collect();
        let distinct: BTreeSet<&String> = all.iter().copied().collect();
        prop_assert_eq!(all.len(), distinct.len(), "handed out twice: {:?}", got);
        prop_assert!(all.len() <= codes.len());

        // Each card's profiles are the SM-DP+'s Installed profiles bound to it; none on both.
        let mut on_cards = BTreeSet::new();
        for device in 0..2 {
            let eid = pair.eid(device);
            let listed = pair.lpa(device).expect("lpa").list_profiles().expect("list");
            for p in listed {
                prop_assert!(on_cards.insert(p.iccid.clone()), "{} on both cards", p.iccid);
                let rec = pair.profile(&p.iccid).expect("record");
                prop_assert_eq!(rec.state, ProfileState::Installed);
                prop_assert_eq!(rec.eid.as_ref(), Some(&eid));
            }
        }
        for id in &iccids {
            let rec = pair.profile(id).expect("record");
            if rec.state == ProfileState::Installed {
                prop_assert!(on_cards.contains(id), "{} Installed but on no card", id);
            }
        }
    }
}
