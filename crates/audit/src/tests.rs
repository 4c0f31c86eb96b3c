#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;

use super::*;

/// A valid chain of `n` entries (tenants 1 and 2 in turn).
fn chain(n: u64) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for seq in 1..=n {
        let prev = out.last().map_or(GENESIS, |e| e.hash);
        let d = Draft::new(
            1_700_000_000 + i64::try_from(seq).unwrap(),
            "cli:test",
            action::BATCH_GENERATE,
            format!("batch:b{seq}"),
        )
        .tenant(i64::try_from(seq % 2 + 1).unwrap())
        .detail("quantity", seq);
        out.push(d.seal(seq, prev));
    }
    out
}

/// `verify(input)` is `expect`: `Ok(count)` or `Err((seq, kind))`.
fn check(input: &[Entry], expect: Result<u64, (u64, BreakKind)>) {
    let got = verify(input).map(|s| s.count).map_err(|b| (b.seq, b.kind));
    assert_eq!(got, expect);
}

#[test]
fn a_valid_chain_verifies() {
    check(&[], Ok(0));
    check(&chain(5), Ok(5));
    let s = verify(chain(3)).unwrap();
    assert_eq!(s.head, chain(3)[2].hash);
    assert!(s.to_string().starts_with("3 entries, chain intact, head "));
}

#[test]
fn a_check_continues_from_an_intact_prefix() {
    let c = chain(6);
    let prefix = verify(&c[..4]).unwrap();
    assert_eq!(verify_after(prefix, &c[4..]), verify(&c));
    assert_eq!(verify_after(prefix, &c[4..4]), Ok(prefix));
    assert_eq!(verify_after(verify(&c[..0]).unwrap(), &c), verify(&c));
    // A gap, an entry again, an edit after the prefix: the first bad one.
    let gap = verify_after(prefix, &c[5..]).unwrap_err();
    assert_eq!((gap.seq, gap.kind), (5, BreakKind::Deleted));
    let again = verify_after(prefix, &c[3..]).unwrap_err();
    assert_eq!(again.kind, BreakKind::Reordered);
    let mut edited = c[4..].to_vec();
    edited[1].target = "batch:other".into();
    let e = verify_after(prefix, &edited).unwrap_err();
    assert_eq!((e.seq, e.kind), (6, BreakKind::Edited));
    // A prefix that is not the log's (another head): the first entry after it does not follow.
    let other = Summary {
        head: [9; 32],
        ..prefix
    };
    assert_eq!(verify_after(other, &c[4..]).unwrap_err().seq, 5);
}

#[test]
fn each_kind_of_tampering_is_named() {
    let mut c = chain(6);
    c[2].target = "batch:other".into();
    check(&c, Err((3, BreakKind::Edited)));

    // Edited and re-hashed: the next entry no longer chains to it.
    let mut c = chain(6);
    c[2].outcome = Outcome::Failed("x".into());
    c[2].hash = c[2].compute_hash();
    check(&c, Err((3, BreakKind::Edited)));

    let mut c = chain(6);
    c.remove(3);
    check(&c, Err((4, BreakKind::Deleted)));

    // Deleted and the rest renumbered.
    let mut c = chain(6);
    c.remove(3);
    for e in &mut c[3..] {
        e.seq -= 1;
    }
    check(&c, Err((4, BreakKind::Deleted)));

    // A forged entry, well hashed, put in the middle (the rest renumbered).
    let mut c = chain(6);
    let forged = Draft::new(1, "system", action::LOGIN, "x").seal(4, c[2].hash);
    c.insert(3, forged);
    for e in &mut c[4..] {
        e.seq += 1;
    }
    check(&c, Err((4, BreakKind::Inserted)));

    // A foreign entry at the end.
    let mut c = chain(6);
    let mut forged = Draft::new(1, "system", action::LOGIN, "x").seal(7, [9; 32]);
    forged.hash = [8; 32];
    c.push(forged);
    check(&c, Err((7, BreakKind::Inserted)));

    // Two entries swap places (seq swapped).
    let mut c = chain(6);
    c.swap(1, 4);
    c[1].seq = 2;
    c[4].seq = 5;
    check(&c, Err((2, BreakKind::Reordered)));

    let mut c = chain(3);
    c[0].prev_hash = [1; 32];
    c[0].hash = c[0].compute_hash();
    check(&c, Err((1, BreakKind::BadGenesis)));
    let c = chain(3);
    check(&c[1..], Err((1, BreakKind::Deleted)));
}

#[test]
fn the_encoding_is_canonical_and_round_trips() {
    let e = chain(2).pop().unwrap();
    let mut other = e.clone();
    other.details = Details::new();
    other.details.insert("quantity".into(), 2.into());
    assert_eq!(e.compute_hash(), other.compute_hash());
    // Field boundaries count: moving a byte from one field to the next changes the hash.
    let mut a = e.clone();
    a.actor = "ab".into();
    a.action = "c".into();
    let mut b = e.clone();
    b.actor = "a".into();
    b.action = "bc".into();
    assert_ne!(a.compute_hash(), b.compute_hash());
    let stored = Stored::from(&e);
    assert_eq!(Entry::try_from(stored.clone()).unwrap(), e);
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), e);
    assert!(matches!(
        Entry::try_from(Stored {
            hash: "zz".into(),
            ..stored
        }),
        Err(Error::Malformed {
            seq: 2,
            field: "hash"
        })
    ));
}

/// One change an attacker with write access to the database could make.
#[derive(Debug, Clone)]
enum Mutation {
    EditTarget(usize),
    EditAt(usize),
    EditTenant(usize),
    EditAndRehash(usize),
    Delete(usize),
    DeleteRenumber(usize),
    InsertForged(usize, bool),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::EditTarget),
        any::<usize>().prop_map(Mutation::EditAt),
        any::<usize>().prop_map(Mutation::EditTenant),
        any::<usize>().prop_map(Mutation::EditAndRehash),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::DeleteRenumber),
        (any::<usize>(), any::<bool>()).prop_map(|(i, r)| Mutation::InsertForged(i, r)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
    ]
}

fn apply(c: &mut Vec<Entry>, m: &Mutation) -> bool {
    let n = c.len();
    match *m {
        Mutation::EditTarget(i) => c[i % n].target.push('x'),
        Mutation::EditAt(i) => c[i % n].at += 1,
        Mutation::EditTenant(i) => c[i % n].tenant = c[i % n].tenant.map(|t| t + 10),
        Mutation::EditAndRehash(i) => {
            let e = &mut c[i % n];
            e.actor = "cli:mallory".into();
            e.hash = e.compute_hash();
        }
        Mutation::Delete(i) => {
            c.remove(i % n);
        }
        Mutation::DeleteRenumber(i) => {
            let i = i % n;
            c.remove(i);
            for e in &mut c[i..] {
                e.seq -= 1;
            }
        }
        Mutation::InsertForged(i, renumber) => {
            let i = i % (n + 1);
            let prev = if i == 0 { GENESIS } else { c[i - 1].hash };
            let seq = u64::try_from(i).unwrap() + 1;
            c.insert(
                i,
                Draft::new(0, "system", action::LOGIN, "forged").seal(seq, prev),
            );
            if renumber {
                for e in &mut c[i + 1..] {
                    e.seq += 1;
                }
            }
        }
        Mutation::Swap(i, j) => {
            let (i, j) = (i % n, j % n);
            if i == j {
                return false;
            }
            let (si, sj) = (c[i].seq, c[j].seq);
            c.swap(i, j);
            c[i].seq = si;
            c[j].seq = sj;
        }
    }
    true
}

proptest! {
    /// Any single change to a valid chain is found: `verify` fails, or (an entry cut off
    /// the end, one well-chained forgery appended) its summary differs from the one before.
    #[test]
    fn any_single_mutation_is_detected(n in 1u64..12, m in mutation()) {
        let original = chain(n);
        let before = verify(&original).unwrap();
        let mut c = original.clone();
        if apply(&mut c, &m) {
            prop_assert_ne!(verify(&c), Ok(before));
        }
    }
}
