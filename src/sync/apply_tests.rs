//! The applier's safety nets: codes settled from all claims whatever the
//! rows held before, and an operation that breaks a rule of the database
//! refused on its own while the rest of its batch is applied.

use super::*;
use crate::sync::ops::Change;

fn op(n: u32, millis: u64, change: Change) -> Op {
    Op {
        id: format!("01a22700-0000-7000-8000-{n:012x}"),
        hlc: Hlc {
            millis,
            counter: 0,
            node: 7,
        },
        author: "ana".into(),
        change,
    }
}

fn individual(n: u32, millis: u64, code: &str) -> (String, Op) {
    // v7-looking UUIDs made within one minute share their first 8 digits.
    let uuid = format!("01a23770-0000-7000-8000-{:012x}", 0xabc000 + n);
    let change = Change::IndividualCreated {
        individual: uuid.clone(),
        code: code.into(),
        species: None,
    };
    (uuid, op(n, millis, change))
}

fn code_of(cat: &Catalogue, uuid: &str) -> String {
    cat.conn()
        .query_row(
            "SELECT code FROM individuals WHERE uuid = ?1",
            [uuid],
            |r| r.get(0),
        )
        .unwrap()
}

/// Change rows behind the log's back, as an older WhaleID or another tool
/// left them (the capture triggers off).
fn behind_the_log(cat: &Catalogue, sql: &str) {
    cat.conn()
        .execute_batch(&format!(
            "INSERT INTO sync_applying (applying) VALUES (1); {sql}; DELETE FROM sync_applying;"
        ))
        .unwrap();
}

#[test]
fn a_code_left_by_an_older_clash_rule_is_settled_instead_of_failing_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    let (x, ox) = individual(1, 10, "C1");
    let (y, oy) = individual(2, 20, "C1");
    receive(&mut cat, &[ox, oy], "ana").unwrap();
    assert_eq!(code_of(&cat, &x), "C1");
    assert_eq!(code_of(&cat, &y), format!("C1~{}", &y[y.len() - 8..]));
    // An older WhaleID named the clash by the UUID's first 8 digits.
    let old = format!("C1~{}", &y[..8]);
    behind_the_log(
        &cat,
        &format!("UPDATE individuals SET code = '{old}' WHERE uuid = '{y}'"),
    );
    // Someone now claims exactly that code: it is theirs, and y moves on.
    let (z, oz) = individual(3, 30, &old);
    let plan = receive(&mut cat, &[oz], "ana").unwrap();
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::Refuse { .. })),
        "{plan:?}"
    );
    assert_eq!(code_of(&cat, &z), old);
    assert_eq!(code_of(&cat, &y), format!("C1~{}", &y[y.len() - 8..]));
    assert_eq!(code_of(&cat, &x), "C1");
}

#[test]
fn an_operation_breaking_a_rule_of_the_database_is_refused_and_the_rest_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    // A row the log knows nothing of holds C9.
    behind_the_log(
        &cat,
        "INSERT INTO individuals (uuid, code) VALUES ('01a23770-0000-7000-8000-0000000000ff', 'C9')",
    );
    let (a, oa) = individual(1, 10, "A");
    let (b, ob) = individual(2, 20, "C9");
    let (c, oc) = individual(3, 30, "C");
    let plan = receive(&mut cat, &[oc.clone(), ob.clone(), oa.clone()], "ana")
        .unwrap_or_else(|e| panic!("the batch failed instead of refusing one operation: {e}"));
    let refused: Vec<(&String, &String)> = plan
        .actions
        .iter()
        .filter_map(|x| match x {
            Action::Refuse { op, reason } => Some((op, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "{plan:?}");
    assert_eq!(refused[0].0, &ob.id);
    assert!(
        refused[0].1.contains("UNIQUE") && refused[0].1.contains("individuals.code"),
        "{}",
        refused[0].1
    );
    assert_eq!(code_of(&cat, &a), "A");
    assert_eq!(code_of(&cat, &c), "C");
    let held: i64 = cat
        .conn()
        .query_row(
            "SELECT count(*) FROM individuals WHERE uuid = ?1",
            [&b],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 0, "nothing of the refused operation is stored");
    let logged: i64 = cat
        .conn()
        .query_row(
            "SELECT count(*) FROM sync_ops WHERE id = ?1",
            [&ob.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 0, "a refused operation is not logged");
    // Applying the others again changes nothing.
    let again = receive(&mut cat, &[oa, oc], "ana").unwrap();
    assert_eq!(again.changes(), 0, "{again:?}");
}

/// Found by fuzz_wire_receive_never_fails: of two different operations sent
/// under one id, the one the planner takes (the first by timestamp) is the
/// one carried out, whatever order the batch came in.
#[test]
fn of_two_operations_under_one_id_the_planners_choice_is_applied_in_any_order() {
    let y = "01a23770-0000-7000-8000-0000000000ee".to_string();
    let first = op(
        9,
        20,
        Change::IndividualCreated {
            individual: y.clone(),
            code: "Y".into(),
            species: Some("beluga".into()),
        },
    );
    let second = op(
        9,
        30,
        Change::IndividualCreated {
            individual: "01a23770-0000-7000-8000-0000000000ef".into(),
            code: "Z".into(),
            species: None,
        },
    );
    for batch in [
        vec![first.clone(), second.clone()],
        vec![second.clone(), first.clone()],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        receive(&mut cat, &batch, "ana").unwrap();
        let species: Option<String> = cat
            .conn()
            .query_row(
                "SELECT species FROM individuals WHERE uuid = ?1",
                [&y],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(species.as_deref(), Some("beluga"), "{batch:?}");
    }
}
