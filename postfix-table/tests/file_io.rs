//! Reading tables from files (one and two reader threads) and writing them
//! back with unchanged ranges copied from the source file.

use std::fs;
use std::io::{Read, Seek};

use postfix_table::{Options, Table};

fn sample(lines: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..lines {
        v.extend_from_slice(
            format!("user{i:07}@example.com\t[relay-{i}.example.net]:587\r\n").as_bytes(),
        );
        if i % 1000 == 0 {
            v.extend_from_slice(b"# comment \xe9\n   \n");
        }
    }
    v.extend_from_slice(b"last v");
    v
}

#[test]
fn read_small_and_large_files_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    for lines in [0, 3, 200_000] {
        let bytes = sample(lines);
        let path = dir.path().join(format!("t{lines}"));
        fs::write(&path, &bytes).unwrap();
        if lines == 200_000 {
            assert!(bytes.len() > 8 << 20, "exercise the two-thread path");
        }
        let t = Table::read(&path, Options::default()).unwrap();
        assert_eq!(t.to_bytes(), bytes);
        assert_eq!(t.get("last").as_deref(), Some(&b"v"[..]));
    }
    assert!(Table::read(dir.path().join("missing"), Options::default()).is_err());
}

#[test]
fn write_to_file_from_copies_untouched_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let bytes = sample(50_000);
    fs::write(&path, &bytes).unwrap();
    let source = fs::File::open(&path).unwrap();
    let mut table = Table::read_file(&source, Options::default()).unwrap();
    table
        .set("user0000010@EXAMPLE.com", "[changed]:25")
        .unwrap();
    table.remove("user0049999@example.com");
    table.set("new@example.org", "[n]").unwrap();
    let mut out = tempfile::tempfile().unwrap();
    table.write_to_file_from(&source, &mut out).unwrap();
    out.rewind().unwrap();
    let mut written = Vec::new();
    out.read_to_end(&mut written).unwrap();
    assert_eq!(written, table.to_bytes());

    // A source that no longer matches the table is refused before writing.
    fs::write(&path, b"other").unwrap();
    let mut out = tempfile::tempfile().unwrap();
    let err = table.write_to_file_from(&source, &mut out).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(out.metadata().unwrap().len(), 0);
}
