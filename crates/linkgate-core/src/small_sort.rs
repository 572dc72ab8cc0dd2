//! A stable sort for the core's few short lists, in a few hundred bytes of
//! wasm: the standard library's stable sort (driftsort with its quicksort
//! and merge paths) is ~3.5 KB of the worker per element type, and the core
//! sorts two short lists (the aggregated refusals of one window, at most
//! `audit::MAX_AGGREGATES` + 1; a presigned URL's query parameters, fewer
//! than ten).

/// Sort `v` by `key`, stable (equal keys keep their order), as
/// `v.sort_by_key(key)` does; quadratic, so for short lists only. The keys
/// are computed once and an index order is sorted, so large elements are
/// moved once.
pub fn sort_by_key<T, K: Ord>(v: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let keys: Vec<K> = v.iter().map(key).collect();
    let mut order: Vec<usize> = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        // After every earlier index whose key is not greater: stable.
        let at = order.partition_point(|&j| keys.get(j) <= keys.get(i));
        order.insert(at, i);
    }
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(order.iter().filter_map(|&i| slots.get_mut(i).and_then(Option::take)));
}

#[cfg(test)]
mod tests {
    use super::sort_by_key;

    #[test]
    fn matches_the_standard_stable_sort() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300usize {
            let mut v: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x % 7) as u8, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|e| std::cmp::Reverse(e.0));
            sort_by_key(&mut v, |e| std::cmp::Reverse(e.0));
            assert_eq!(v, expected, "len {len}");
        }
    }
}
