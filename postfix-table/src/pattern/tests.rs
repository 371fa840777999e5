use super::*;

const KINDS: [PatternKind; 3] = [PatternKind::Regexp, PatternKind::Pcre, PatternKind::Cidr];

#[test]
fn roundtrip_odd_bytes() {
    for src in [
        &b""[..],
        b"/a/ b",
        b"/a/ b\r\n\0x\n  cont\n# c\n\xff\xfe\n",
        b"  orphan\n/a/ b\n",
        b"\n\n# only comments",
    ] {
        for k in KINDS {
            let t = PatternTable::parse(k, src);
            assert_eq!(t.to_bytes(), src);
            let mut w = Vec::new();
            t.write_to(&mut w).unwrap();
            assert_eq!(w, src);
        }
    }
}

#[test]
fn statements_lines_and_kinds() {
    let t = PatternTable::parse(
        PatternKind::Regexp,
        b"# c\n/a/ x\n  y\nif /b/\n\n/c/ z\nendif\nfoo\n",
    );
    let v: Vec<(usize, StatementKind)> = t.statements().map(|s| (s.line(), s.kind())).collect();
    assert_eq!(
        v,
        [
            (2, StatementKind::Rule),
            (4, StatementKind::If),
            (6, StatementKind::Rule),
            (7, StatementKind::Endif),
            (8, StatementKind::Invalid),
        ]
    );
    assert_eq!(t.statements().next().unwrap().result().unwrap(), b"x  y");
    assert_eq!(t.len(), 5);
}

#[test]
fn cidr_lookups_need_no_feature() {
    let t = PatternTable::parse(
        PatternKind::Cidr,
        b"192.168.0.0/16 lan\n!10.0.0.0/8 not-ten\nif 10.0.0.0/8\n10.1.0.0/16 ten-one\nendif\n2001:db8::/32 v6\n",
    );
    let q = |k: &[u8]| t.lookup(k).unwrap();
    assert_eq!(q(b"192.168.3.4").as_deref(), Some(&b"lan"[..]));
    assert_eq!(q(b"8.8.8.8").as_deref(), Some(&b"not-ten"[..]));
    assert_eq!(q(b"10.1.2.3").as_deref(), Some(&b"ten-one"[..]));
    assert_eq!(q(b"10.2.0.0"), None);
    assert_eq!(q(b"2001:0db8:0:0::2").as_deref(), Some(&b"v6"[..]));
    // Not a bare address: nothing matches, not even the `!` rule.
    assert_eq!(q(b"[8.8.8.8]"), None);
    assert_eq!(q(b"host.example"), None);
    assert!(t.diagnostics().is_empty());
}

#[test]
fn keys_with_nul_or_bad_utf8_are_refused() {
    let t = PatternTable::parse(PatternKind::Cidr, b"0.0.0.0/0 any\n");
    assert_eq!(t.lookup(b"1.2.3.4\0x"), Err(QueryError::NulInKey { at: 7 }));
    assert!(matches!(
        t.lookup(b"caf\xe9"),
        Err(QueryError::NonUtf8Key { .. })
    ));
    let t = t.with_utf8(false);
    assert_eq!(t.lookup(b"caf\xe9").unwrap(), None);
}

#[test]
fn cidr_edits() {
    let mut t = PatternTable::parse(PatternKind::Cidr, b"# nets\r\n10.0.0.0/8 ten");
    let before = t.to_bytes();
    for (rule, bad) in [
        (&b"10.0.0.1/8 x"[..], "host bits"),
        (b"10.0.0.0/8", "no result"),
        (b"if 10.0.0.0/8", "not a rule"),
        (b" 1.2.3.4 x", "leading space"),
        (b"1.2.3.4 x\n", "LF"),
        (b"1.2.3.4 x ", "trailing space"),
    ] {
        assert!(t.push(rule).is_err(), "{bad}");
        assert_eq!(t.to_bytes(), before, "{bad}");
    }
    assert!(matches!(
        t.push(b"10.0.0.1/8 x"),
        Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
            CidrError::HostBits { .. }
        )))
    ));
    t.push(b"192.168.0.0/16 lan").unwrap();
    t.insert_before(0, b"10.1.0.0/16 ten-one").unwrap();
    assert_eq!(
        t.to_bytes(),
        b"# nets\r\n10.1.0.0/16 ten-one\r\n10.0.0.0/8 ten\r\n192.168.0.0/16 lan\r\n"
    );
    assert_eq!(
        t.lookup(b"10.1.1.1").unwrap().as_deref(),
        Some(&b"ten-one"[..])
    );
    t.set_result(1, b"TEN").unwrap();
    assert_eq!(t.lookup(b"10.2.0.0").unwrap().as_deref(), Some(&b"TEN"[..]));
    t.remove(0).unwrap();
    assert_eq!(t.lookup(b"10.1.1.1").unwrap().as_deref(), Some(&b"TEN"[..]));
    assert_eq!(
        t.to_bytes(),
        b"# nets\r\n10.0.0.0/8 TEN\r\n192.168.0.0/16 lan\r\n"
    );
    assert_eq!(
        t.format_rule(true, b"[2001:db8::]/32", b"", b"not-doc")
            .unwrap(),
        b"![2001:db8::]/32 not-doc"
    );
}

#[test]
fn remove_keeps_interleaved_comments_and_refuses_if() {
    let mut t = PatternTable::parse(
        PatternKind::Cidr,
        b"if 10.0.0.0/8\n10.0.0.0/9 a\n# keep\n  b\nendif\n",
    );
    assert_eq!(t.remove(0), Err(PatternEditError::NotARule { index: 0 }));
    assert_eq!(t.remove(2), Err(PatternEditError::NotARule { index: 2 }));
    t.remove(1).unwrap();
    assert_eq!(t.to_bytes(), b"if 10.0.0.0/8\n# keep\nendif\n");
    assert!(matches!(
        t.remove(5),
        Err(PatternEditError::NoSuchStatement { index: 5, len: 2 })
    ));
}

#[test]
fn insert_before_orphan_is_refused() {
    let mut t = PatternTable::parse(PatternKind::Cidr, b"  1.2.3.4 orphan\n");
    assert_eq!(
        t.insert_before(0, b"1.2.3.4 x"),
        Err(PatternEditError::IndentedLine { index: 0 })
    );
    assert_eq!(t.push(b"if 1.2.3.4"), Err(PatternEditError::IfEndifLine));
    let d = t.diagnostics();
    assert_eq!(
        d[0].to_string(),
        "line 1: logical line must not start with whitespace: \"  1.2.3.4 orphan\""
    );
    t.insert_after(0, b"1.2.3.4 x").unwrap();
    assert_eq!(t.to_bytes(), b"  1.2.3.4 orphan\n1.2.3.4 x\n");
    assert_eq!(t.lookup(b"1.2.3.4").unwrap().as_deref(), Some(&b"x"[..]));
}

#[cfg(feature = "regexp")]
mod regexp {
    use super::super::ops::PatternEditOp;
    use super::*;

    fn t(src: &[u8]) -> PatternTable {
        PatternTable::parse(PatternKind::Regexp, src)
    }

    #[test]
    fn substitution_quirks() {
        let t = t(b"/^(a)(b)?(c*)$/ [$1|$2|${3}|$(1)|$$]\n");
        assert_eq!(t.lookup(b"a").unwrap().as_deref(), Some(&b"[a|||a|$]"[..]));
        assert_eq!(
            t.lookup(b"abcc").unwrap().as_deref(),
            Some(&b"[a|b|cc|a|$]"[..])
        );
    }

    #[test]
    fn legacy_and_negation() {
        let t = t(b"/a/!/c/ legacy\n!!/b/ double\n!/@/ no-at\n");
        assert_eq!(t.lookup(b"ab").unwrap().as_deref(), Some(&b"legacy"[..]));
        assert_eq!(t.lookup(b"ac@").unwrap(), None);
        assert_eq!(t.lookup(b"b@").unwrap().as_deref(), Some(&b"double"[..]));
        assert_eq!(t.lookup(b"zz").unwrap().as_deref(), Some(&b"no-at"[..]));
    }

    #[test]
    fn nested_if_and_missing_endif() {
        let t = t(b"if /^a/\nif /b$/\n/./ a-b\nendif\n/./ a\nendif\nif /^z/\n/./ z\n/never/ x\n");
        assert_eq!(t.lookup(b"axb").unwrap().as_deref(), Some(&b"a-b"[..]));
        assert_eq!(t.lookup(b"ax").unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(t.lookup(b"zz").unwrap().as_deref(), Some(&b"z"[..]));
        // An IF without ENDIF that does not match ends the search.
        assert_eq!(t.lookup(b"q").unwrap(), None);
        let d = t.diagnostics();
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].postfix_message("table", true),
            "regexp map table, line 7: IF has no matching ENDIF"
        );
    }

    #[test]
    fn edits_validate_before_changing() {
        let mut t = t(b"/^a/ one\n/^b/ two");
        let before = t.to_bytes();
        for bad in [
            &b"/(a/ x"[..],
            b"/a/z x",
            b"/(a)/ $2",
            b"!/(a)/ $1",
            b"/a/ ${1",
            b"/a/",
            b"#a# x",
            b"if /a/",
            b"endif",
            b"foo",
        ] {
            let r = t.push(bad);
            assert!(r.is_err(), "{:?}", String::from_utf8_lossy(bad));
            assert_eq!(t.to_bytes(), before);
        }
        assert!(matches!(
            t.push(b"/(a/ x"),
            Err(PatternEditError::Rejected(
                PatternDiagnosticKind::Compile { .. }
            ))
        ));
        assert_eq!(
            t.set_result(0, b"$1"),
            Err(PatternEditError::Rejected(
                PatternDiagnosticKind::IndexOutOfRange { index: 1 }
            ))
        );
        assert_eq!(
            t.set_result(0, b" x"),
            Err(PatternEditError::Whitespace { what: "result" })
        );
        assert!(t.lookup(b"b").unwrap().is_some());
        t.insert_after(1, b"/^c/ three").unwrap();
        assert_eq!(t.to_bytes(), b"/^a/ one\n/^b/ two\n/^c/ three\n");
        assert_eq!(t.lookup(b"c").unwrap().as_deref(), Some(&b"three"[..]));
        let line = t.format_rule(false, b"^d/e$", b"i", b"four").unwrap();
        assert_eq!(line, b"|^d/e$|i four");
        t.push(&line).unwrap();
        // `i` toggles the default (case-insensitive) off.
        assert_eq!(t.lookup(b"d/e").unwrap().as_deref(), Some(&b"four"[..]));
        assert_eq!(t.lookup(b"D/E").unwrap(), None);
    }

    #[test]
    fn set_result_rerenders_one_line() {
        let mut t = t(b"# top\n/^(a)/\tx\n# inside\n  y\n/b/ z\n");
        t.set_result(0, b"r-$1").unwrap();
        assert_eq!(t.to_bytes(), b"# top\n/^(a)/\tr-$1\n# inside\n/b/ z\n");
        assert_eq!(t.lookup(b"ab").unwrap().as_deref(), Some(&b"r-a"[..]));
        // A rule without a result gets one.
        let mut t2 = PatternTable::parse(PatternKind::Regexp, b"/^y/");
        t2.set_result(0, b"why").unwrap();
        assert_eq!(t2.to_bytes(), b"/^y/ why");
    }

    #[test]
    fn ops_check_catches_a_wrong_claim() {
        let mut t = t(b"/^a/ one\n");
        let before = t.to_bytes();
        let op = PatternEditOp::Push {
            rule: b"/^b/ two".to_vec(),
        };
        let r = op.apply(&mut t);
        op.check(&before, &t, &r, &[b"b".to_vec()]).unwrap();
        // The same table claimed as the result of a different edit fails.
        let wrong = PatternEditOp::Remove { index: 0 };
        assert!(wrong.check(&before, &t, &Ok(()), &[]).is_err());
    }

    #[test]
    fn value_utf8_is_checked_after_substitution() {
        let t = t(b"/^(.)/ $1\n");
        assert!(matches!(
            t.lookup("é".as_bytes()),
            Err(QueryError::NonUtf8Value { .. })
        ));
        assert_eq!(t.lookup(b"x").unwrap().as_deref(), Some(&b"x"[..]));
    }
}

#[cfg(feature = "pcre")]
mod pcre {
    use super::*;

    #[test]
    fn flags_and_groups() {
        let t = PatternTable::parse(
            PatternKind::Pcre,
            b"/^(?<u>[^@]+)@x$/ u=$1\n/^a.b$/s dot-not-nl\n/^(a+)(a*)$/U lazy=$1,$2\n/^q$/A anch\n",
        );
        assert_eq!(t.lookup(b"joe@x").unwrap().as_deref(), Some(&b"u=joe"[..]));
        assert_eq!(t.lookup(b"a\nb").unwrap(), None);
        assert_eq!(
            t.lookup(b"aaa").unwrap().as_deref(),
            Some(&b"lazy=a,aa"[..])
        );
        assert!(t.diagnostics().is_empty());
    }
}

#[cfg(not(feature = "regexp"))]
#[test]
fn without_engine_lookups_say_so() {
    let t = PatternTable::parse(PatternKind::Regexp, b"/a/ b\n");
    assert!(matches!(
        t.lookup(b"a"),
        Err(QueryError::EngineUnavailable { kind: "regexp" })
    ));
}
