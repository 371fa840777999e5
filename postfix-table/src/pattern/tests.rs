use super::*;

#[test]
fn roundtrip_odd_bytes() {
    for src in [
        &b""[..],
        b"/a/ b",
        b"/a/ b\r\n\0x\n  cont\n# c\n\xff\xfe\n",
        b"  orphan\n/a/ b\n",
    ] {
        for k in [PatternKind::Regexp, PatternKind::Pcre, PatternKind::Cidr] {
            assert_eq!(PatternTable::parse(k, src).to_bytes(), src);
        }
    }
}
