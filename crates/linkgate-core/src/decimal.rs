//! Decimal numbers written into a `String` without `core::fmt`: the
//! formatter (`fmt::write`, `Formatter::pad`) was ~20 µs of a download's
//! CPU in wasm under the profiler, for a handful of dates and lengths per
//! response (docs/performance.md, "CPU per request in the isolate").

/// Append `n` in decimal, zero-padded to at least `min_digits` digits.
pub fn push(out: &mut String, n: u64, min_digits: usize) {
    let mut digits = [b'0'; 20]; // u64::MAX has 20 digits
    let mut len = 0;
    let mut rest = n;
    for slot in digits.iter_mut().rev() {
        *slot = b'0'.saturating_add((rest % 10) as u8);
        rest /= 10;
        len += 1;
        if rest == 0 {
            break;
        }
    }
    for _ in len..min_digits {
        out.push('0');
    }
    let start = digits.len().saturating_sub(len);
    // ASCII digits only, so the slice is always valid UTF-8.
    out.push_str(std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default());
}

/// `n` in decimal.
pub fn string(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push(&mut out, n, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        for n in [0, 1, 9, 10, 99, 100, 1_000_000, u64::MAX - 1, u64::MAX] {
            assert_eq!(string(n), n.to_string());
        }
        let mut s = String::from("x");
        push(&mut s, 7, 2);
        push(&mut s, 123, 2);
        push(&mut s, 0, 4);
        assert_eq!(s, "x071230000");
    }

    proptest! {
        #[test]
        fn written_as_format_writes_it(n in any::<u64>(), width in 0usize..24) {
            let mut s = String::new();
            push(&mut s, n, width);
            prop_assert_eq!(s, format!("{n:0width$}"));
        }
    }
}
