//! Random text into the SIM factory's order-file parser and identifier parsers (simforge-sim).
//!
//! `parse_order_file` reads the raw bytes (invalid UTF-8 must be a line error, not a panic) for
//! two operators (19- and 20-digit ICCIDs, 2- and 3-digit MNCs). The identifier parsers must
//! never panic, and whatever parses must survive its EF encoding and its text form unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_sim::order::MAX_QUANTITY;
use simforge_sim::{CardProfile, Iccid, Imsi, Msisdn, OperatorProfile, Plmn, parse_order_file};

fn operators() -> [OperatorProfile; 2] {
    [
        OperatorProfile {
            name: "zong".into(),
            plmn: Plmn::new("410", "04").expect("valid PLMN"),
            iccid_prefix: "899204".into(),
            iccid_len: 19,
            spn: "Zong".into(),
        },
        OperatorProfile {
            name: "lab".into(),
            plmn: Plmn::new("001", "010").expect("valid PLMN"),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "Lab".into(),
        },
    ]
}

fn check_iccid(iccid: &Iccid) {
    assert!(matches!(iccid.len(), 19 | 20));
    assert_eq!(
        Iccid::from_ef(&iccid.to_ef()).as_ref(),
        Ok(iccid),
        "EF.ICCID round trip"
    );
    assert_eq!(
        Iccid::parse(&iccid.to_string()).as_ref(),
        Ok(iccid),
        "text round trip"
    );
    assert_eq!(
        Iccid::from_body(&iccid.body()).as_ref(),
        Ok(iccid),
        "body round trip"
    );
}

fn check_imsi(imsi: &Imsi, plmn: &Plmn) {
    assert_eq!(imsi.plmn(), *plmn);
    assert_eq!(
        Imsi::from_ef(&imsi.to_ef(), plmn).as_ref(),
        Ok(imsi),
        "EF.IMSI round trip"
    );
    assert_eq!(
        Imsi::parse(&imsi.to_string(), plmn).as_ref(),
        Ok(imsi),
        "text round trip"
    );
}

fuzz_target!(|data: &[u8]| {
    let ops = operators();
    let profile = CardProfile::default();
    for op in &ops {
        if let Ok(plan) = parse_order_file(data, op, &profile, "fuzz") {
            assert!(plan.quantity >= 1 && plan.quantity <= MAX_QUANTITY);
            assert!(plan.first_iccid.body().starts_with(&op.iccid_prefix));
            assert_eq!(plan.first_imsi.plmn(), op.plmn);
            let last_iccid = plan.last_iccid().expect("the ICCID range holds Quantity");
            let last_imsi = plan.last_imsi().expect("the IMSI range holds Quantity");
            assert_eq!(
                last_iccid.body_value() - plan.first_iccid.body_value() + 1,
                plan.quantity
            );
            assert_eq!(
                last_imsi.value() - plan.first_imsi.value() + 1,
                plan.quantity
            );
        }
        if let Ok(imsi) = Imsi::from_ef(data, &op.plmn) {
            check_imsi(&imsi, &op.plmn);
        }
    }
    if let Ok(iccid) = Iccid::from_ef(data) {
        check_iccid(&iccid);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(iccid) = Iccid::parse(text) {
        assert_eq!(iccid.to_string(), text);
        check_iccid(&iccid);
    }
    if let Ok(iccid) = Iccid::from_body(text) {
        assert_eq!(iccid.body(), text);
        check_iccid(&iccid);
    }
    for op in &ops {
        if let Ok(iccid) = Iccid::parse_either(text, op.iccid_len) {
            assert_eq!(iccid.len(), op.iccid_len);
            check_iccid(&iccid);
        }
        if let Ok(imsi) = Imsi::parse(text, &op.plmn) {
            assert_eq!(imsi.to_string(), text);
            check_imsi(&imsi, &op.plmn);
        }
    }
    if let Ok(msisdn) = Msisdn::parse(text) {
        assert_eq!(Msisdn::parse(&msisdn.to_string()), Ok(msisdn));
    }
});
