//! Work split across threads on candle's own CPU worker pool: the threads that run candle's
//! element-wise ops spin for a while after each op, so a second pool (rayon's) working at the
//! same time would compete with them for the cores (on 2 cores that cost a quarter of the
//! training-step speed).

use std::sync::Mutex;

/// Threads available to one parallel piece of work (`--threads`, `RAYON_NUM_THREADS`, or every core).
pub(crate) fn threads() -> usize {
    candle_core::utils::get_num_threads().max(1)
}

/// Calls `f(i)` for every `i < n`, spread over the pool (the calling thread takes part).
pub(crate) fn for_each_index(n: usize, f: impl Fn(usize) + Sync) {
    if n <= 1 {
        (0..n).for_each(f);
        return;
    }
    candle_core::utils::barrier_pool().execute_chunked(n, |range| range.for_each(&f));
}

/// `f(i, &mut items[i])` for every item, in parallel; returns the results in order.
pub fn map_mut<T: Send, R: Send>(items: Vec<T>, f: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let results: Vec<Mutex<Option<R>>> = slots.iter().map(|_| Mutex::new(None)).collect();
    for_each_index(slots.len(), |i| {
        let item = slots[i].lock().ok().and_then(|mut s| s.take());
        if let Some(item) = item {
            let r = f(i, item);
            if let Ok(mut slot) = results[i].lock() {
                *slot = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().ok().flatten().expect("every index ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_once_in_order() {
        let items: Vec<Vec<usize>> = (0..37).map(|i| vec![i; 3]).collect();
        let out = map_mut(items, |i, mut v| {
            v.push(i * 10);
            v
        });
        assert_eq!(out.len(), 37);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(v, &vec![i, i, i, i * 10]);
        }
        let hits: Vec<Mutex<usize>> = (0..100).map(|_| Mutex::new(0)).collect();
        for_each_index(100, |i| *hits[i].lock().unwrap() += 1);
        assert!(hits.iter().all(|h| *h.lock().unwrap() == 1));
        assert!(threads() >= 1);
    }
}
