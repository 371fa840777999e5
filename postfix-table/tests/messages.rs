//! The exact text of every error and diagnostic message (a snapshot: a
//! change here is a change users see), and edits around non-UTF-8 bytes.

use postfix_table::{EditError, Table};

#[test]
fn edit_error_messages() {
    let mut t = Table::parse(b"k v\n");
    let cases: Vec<(&[u8], &[u8], &str)> = vec![
        (b"", b"v", "empty key"),
        (
            b"k",
            b"",
            "empty value: Postfix ignores a key without a value; use opt_out for a key-only line",
        ),
        (
            b"a\nb",
            b"v",
            "key contains LF at byte 1, which a table line cannot hold",
        ),
        (
            b"k",
            b"a\rb",
            "value contains CR at byte 1, which a table line cannot hold",
        ),
        (
            b"k",
            b"a\0",
            "value contains NUL at byte 1, which a table line cannot hold",
        ),
        (
            b"#k",
            b"v",
            "key starts with '#', which Postfix reads as a comment line",
        ),
        (
            b"a b",
            b"v",
            "key contains unquoted whitespace at byte 1; Postfix would end the key there",
        ),
        (
            b"\"a",
            b"v",
            "key has an unbalanced '\"'; Postfix would ignore the line",
        ),
        (
            b"a\\",
            b"v",
            "key ends with '\\', which would escape the separator",
        ),
        (
            b"k",
            b" v",
            "value has leading or trailing whitespace, which Postfix trims",
        ),
        (
            b"caf\xe9",
            b"v",
            "key is not valid UTF-8; Postfix ignores such lines while smtputf8_enable = yes",
        ),
        (
            b"k",
            b"caf\xe9",
            "value is not valid UTF-8; Postfix ignores such lines while smtputf8_enable = yes",
        ),
    ];
    for (k, v, want) in cases {
        let err: EditError = t.set(k, v).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(t.to_bytes(), b"k v\n", "a refused edit changed the table");
    }
    assert_eq!(
        t.opt_out("a b").unwrap_err().to_string(),
        "key contains unquoted whitespace at byte 1; Postfix would end the key there"
    );
}

#[test]
fn diagnostic_messages() {
    let src =
        b"  orphan line\nk first\nK second\n@only\nroot: admin\n\"open v\ncaf\xe9 x\nn\0ul v\n";
    let t = Table::parse(src);
    let ours: Vec<String> = t.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        ours,
        [
            "line 1: logical line must not start with whitespace: \"  orphan line\"; Postfix ignores it and its continuation lines",
            "line 3: duplicate entry: \"K\" (first defined on line 2); postmap keeps the first value, but a Postfix daemon refuses the whole texthash table: every lookup in it fails until the duplicate is removed",
            "line 4: expected format: key whitespace value; Postfix ignores the key-only line \"@only\"",
            "line 5: record is in \"key: value\" format (is this an alias file?); the colon is part of the key",
            "line 6: unbalanced '\"' in '\"open v'; Postfix ignores this line",
            "line 7: non-UTF-8 input \"caf? x\"; Postfix ignores this line while smtputf8_enable = yes",
            "line 8: NUL byte; Postfix ignores the rest of this logical line",
            "line 8: expected format: key whitespace value; Postfix ignores the key-only line \"n\"",
        ]
    );
    let postfix: Vec<String> = t
        .diagnostics()
        .iter()
        .filter_map(|d| d.postfix_message("table", true))
        .collect();
    assert_eq!(
        postfix,
        [
            "table: logical line must not start with whitespace: \"  orphan line\"",
            "table, line 3: duplicate entry: \"K\"",
            "table, line 4: expected format: key whitespace value -- ignoring this line",
            "table, line 5: record is in \"key: value\" format; is this an alias file?",
            "table, line 6: unbalanced '\"' in '\"open v' -- ignoring this line",
            "table, line 7: non-UTF-8 input \"caf? x\" -- ignoring this line",
            "table, line 8: expected format: key whitespace value -- ignoring this line",
        ]
    );
}

#[test]
fn latin1_comment_does_not_make_the_file_uneditable() {
    let src = b"# Gr\xfc\xdfe aus M\xfcnchen\n@example.com [relay]:587\n";
    let mut t = Table::parse(src);
    assert!(
        t.diagnostics().is_empty(),
        "comments are never checked for UTF-8"
    );
    t.set("@example.com", "[other]:25").unwrap();
    t.set("@new.de", "[x]").unwrap();
    assert_eq!(
        t.to_bytes(),
        b"# Gr\xfc\xdfe aus M\xfcnchen\n@example.com [other]:25\n@new.de [x]\n"
    );
    // And with smtputf8 off, Latin-1 keys and values are data.
    let mut t = Table::parse_with(
        b"caf\xe9 v\n",
        postfix_table::Options {
            utf8: false,
            ..Default::default()
        },
    );
    assert_eq!(t.get(b"CAF\xe9").as_deref(), Some(&b"v"[..]));
    t.set(b"caf\xe9", b"w\xe9").unwrap();
    assert_eq!(t.to_bytes(), b"caf\xe9 w\xe9\n");
}

#[test]
fn long_leading_whitespace_line_is_cut_like_postfix() {
    let t = Table::parse(b"   0123456789012345678901234567890123456789 v\nk v\n");
    let m = t.diagnostics()[0].postfix_message("t", true).unwrap();
    assert_eq!(
        m,
        "t: logical line must not start with whitespace: \"   012345678901234567890123456...\""
    );
}
