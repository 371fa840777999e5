//! IPv4/IPv6 text <-> bytes exactly as glibc's `inet_pton()` and
//! `inet_ntop()` do it (the functions Postfix's CIDR code calls), written
//! from their documented behaviour: dotted quads with exactly four decimal
//! parts of at most 255 and no leading zeros; IPv6 with at most four hex
//! digits per group, one `::` that stands for at least one group, and an
//! optional dotted quad at the end.

/// `inet_pton(AF_INET, …)`.
pub(crate) fn pton4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut octets = 0usize;
    let mut cur: u32 = 0;
    let mut digits = 0usize;
    for &c in s {
        match c {
            b'0'..=b'9' => {
                if digits > 0 && cur == 0 {
                    return None; // leading zero
                }
                cur = cur * 10 + u32::from(c - b'0');
                if cur > 255 {
                    return None;
                }
                if digits == 0 {
                    octets += 1;
                    if octets > 4 {
                        return None;
                    }
                }
                digits += 1;
                *out.get_mut(octets - 1)? = cur as u8;
            }
            b'.' if digits > 0 => {
                if octets == 4 {
                    return None;
                }
                cur = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    (octets == 4 && digits > 0).then_some(out)
}

/// `inet_pton(AF_INET6, …)`.
pub(crate) fn pton6(s: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut tp = 0usize;
    let mut colon: Option<usize> = None;
    let mut i = 0usize;
    if s.first() == Some(&b':') {
        if s.get(1) != Some(&b':') {
            return None;
        }
        i = 1;
    }
    let mut curtok = i;
    let mut val: u32 = 0;
    let mut seen = 0usize;
    while let Some(&c) = s.get(i) {
        i += 1;
        if let Some(d) = (c as char).to_digit(16) {
            if seen == 4 {
                return None;
            }
            val = (val << 4) | d;
            seen += 1;
            continue;
        }
        if c == b':' {
            curtok = i;
            if seen == 0 {
                if colon.is_some() {
                    return None;
                }
                colon = Some(tp);
                continue;
            } else if i >= s.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            *out.get_mut(tp)? = (val >> 8) as u8;
            *out.get_mut(tp + 1)? = val as u8;
            tp += 2;
            seen = 0;
            val = 0;
            continue;
        }
        if c == b'.' && tp + 4 <= 16 {
            let v4 = pton4(s.get(curtok..)?)?;
            out.get_mut(tp..tp + 4)?.copy_from_slice(&v4);
            tp += 4;
            seen = 0;
            break;
        }
        return None;
    }
    if seen > 0 {
        if tp + 2 > 16 {
            return None;
        }
        *out.get_mut(tp)? = (val >> 8) as u8;
        *out.get_mut(tp + 1)? = val as u8;
        tp += 2;
    }
    if let Some(cp) = colon {
        if tp == 16 {
            return None;
        }
        let n = tp - cp;
        out.copy_within(cp..tp, 16 - n);
        out.get_mut(cp..16 - n)?.fill(0);
        tp = 16;
    }
    (tp == 16).then_some(out)
}

/// `inet_ntop(AF_INET6, …)` as glibc prints it: lower-case hex, the
/// longest run (first on a tie) of two or more zero groups as `::`, and a
/// dotted quad for IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible
/// (`::a.b.c.d`, first six groups zero) addresses.
pub(crate) fn ntop6(a: &[u8; 16]) -> String {
    let w: Vec<u16> = a
        .chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    // Longest run of zero words.
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
    for (i, &x) in w.iter().enumerate() {
        if x == 0 {
            if cur_base == usize::MAX {
                cur_base = i;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base != usize::MAX {
            if best_base == usize::MAX || cur_len > best_len {
                (best_base, best_len) = (cur_base, cur_len);
            }
            cur_base = usize::MAX;
        }
    }
    if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
        (best_base, best_len) = (cur_base, cur_len);
    }
    if best_base != usize::MAX && best_len < 2 {
        best_base = usize::MAX;
    }
    let mut out = String::new();
    let mut i = 0usize;
    while i < 8 {
        if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
            if i == best_base {
                out.push(':');
            }
            i += 1;
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == 0
            && (best_len == 6 || (best_len == 5 && w.get(5) == Some(&0xffff)))
        {
            out.push_str(&format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
            return out;
        }
        out.push_str(&format!("{:x}", w.get(i).copied().unwrap_or(0)));
        i += 1;
    }
    if best_base != usize::MAX && best_base + best_len == 8 {
        out.push(':');
    }
    out
}

/// `inet_ntop(AF_INET, …)`.
pub(crate) fn ntop4(a: &[u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4() {
        assert_eq!(pton4(b"192.168.1.1"), Some([192, 168, 1, 1]));
        assert_eq!(pton4(b"0.0.0.0"), Some([0; 4]));
        for bad in [
            &b"01.2.3.4"[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1..2.3",
            b"1.2.3.4.",
            b".1.2.3",
            b"",
            b"1.2.3.4 ",
            b"[1.2.3.4]",
        ] {
            assert_eq!(pton4(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn v6() {
        let a = pton6(b"2001:0db8:0:0::2").unwrap();
        assert_eq!(a, pton6(b"2001:db8::2").unwrap());
        assert_eq!(pton6(b"::"), Some([0; 16]));
        assert!(pton6(b"::1").is_some());
        assert!(pton6(b"1:2:3:4:5:6:7::").is_some());
        assert!(pton6(b"::ffff:1.2.3.4").is_some());
        for bad in [
            &b":1::"[..],
            b"1:2:3:4:5:6:7:8::",
            b"1::2::3",
            b"12345::",
            b"1:2:3:4:5:6:7:8:9",
            b"1:",
            b"::ffff:01.2.3.4",
            b"1:2:3:4:5:6:7:8:1.2.3.4",
            b"g::",
        ] {
            assert_eq!(pton6(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ntop() {
        let s = |t: &[u8]| ntop6(&pton6(t).unwrap());
        assert_eq!(s(b"2001:0db8:0:0:0:0:0:1"), "2001:db8::1");
        assert_eq!(s(b"::"), "::");
        assert_eq!(s(b"::1"), "::1");
        assert_eq!(s(b"1::"), "1::");
        assert_eq!(s(b"::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(s(b"::1.2.3.4"), "::1.2.3.4");
        assert_eq!(s(b"1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(s(b"1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
    }
}
