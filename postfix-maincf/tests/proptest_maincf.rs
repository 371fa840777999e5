//! Property tests: any bytes round-trip; random edit sequences on random
//! documents keep the values equal to `ops::Model`, keep the document
//! equal to a fresh parse of its bytes, and a refused edit changes nothing.

use postfix_maincf::MainCf;
use postfix_maincf::ops::{EditOp, Model};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec!["a", "b", "relayhost", "x.y", "a_b", "a\x0b"]);
    let value = prop::collection::vec(
        prop::sample::select(vec![
            b' ', b'\t', b'x', b'=', b'#', b'$', b'{', b'}', b'\r', 0u8, 0xe9,
        ]),
        0..8,
    );
    prop_oneof![
        (name.clone(), value.clone()).prop_map(|(n, v)| [n.as_bytes(), b" = ", &v].concat()),
        (name, value.clone()).prop_map(|(n, v)| [n.as_bytes(), b"=", &v].concat()),
        value.clone().prop_map(|v| [b"  ", &v[..]].concat()),
        value.clone().prop_map(|v| [b"#", &v[..]].concat()),
        Just(b"".to_vec()),
        Just(b" \t".to_vec()),
        value,
    ]
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(), 0..12),
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(lines, crlf, final_eol)| {
            let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = lines.join(eol);
            if final_eol && !lines.is_empty() {
                out.extend_from_slice(eol);
            }
            out
        })
}

fn op() -> impl Strategy<Value = EditOp> {
    let name = prop::sample::select(vec![
        b"a".to_vec(),
        b"b".to_vec(),
        b"relayhost".to_vec(),
        b"new".to_vec(),
        b"x.y".to_vec(),
        b"bad name".to_vec(),
        b"#c".to_vec(),
        b"".to_vec(),
    ]);
    let value = prop::sample::select(vec![
        b"".to_vec(),
        b"v".to_vec(),
        b"  padded\tvalue  ".to_vec(),
        b"$a ${b?{x}:{y}}".to_vec(),
        b"bad\nvalue".to_vec(),
        b"cr\r".to_vec(),
    ]);
    prop_oneof![
        3 => (name.clone(), value.clone()).prop_map(|(name, value)| EditOp::Set { name, value }),
        1 => prop::collection::vec((name.clone(), value), 0..4).prop_map(|pairs| EditOp::SetAll { pairs }),
        1 => name.clone().prop_map(|name| EditOp::Remove { name }),
        1 => name.prop_map(|name| EditOp::CommentOut { name }),
    ]
}

proptest! {
    #[test]
    fn any_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let cf = MainCf::parse(&bytes);
        prop_assert_eq!(cf.to_bytes(), bytes);
    }

    #[test]
    fn edits_follow_the_model(doc in document(), ops in prop::collection::vec(op(), 1..8)) {
        let mut cf = MainCf::parse(&doc);
        let mut model = Model::from_maincf(&cf);
        for op in &ops {
            let before = cf.to_bytes();
            let result = op.apply(&mut cf);
            if result.is_err() {
                prop_assert_eq!(cf.to_bytes(), before, "refused {:?} changed bytes", op);
            }
            model.apply(op, result.is_ok());
            if let Err(e) = model.check(&cf) {
                return Err(TestCaseError::fail(format!("{op:?}: {e}")));
            }
            let again = MainCf::parse(&cf.to_bytes());
            prop_assert_eq!(again.diagnostics(), cf.diagnostics());
        }
    }
}
