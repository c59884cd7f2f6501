//! Reused scratch buffers for the fused recurrent kernels. A training step needs several
//! megabytes of activations and gate gradients; taking fresh zeroed memory for them each step
//! cost more than a tenth of the step (zeroing, and page faults on fresh pages).

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers waiting for reuse.
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// How many idle buffers the pool keeps.
const KEEP: usize = 64;

/// `len` floats whose values are unspecified (left from an earlier use): the caller writes
/// every element it later reads. Goes back to the pool when dropped.
pub(crate) struct Buf(Vec<f32>);

impl Buf {
    pub fn new(len: usize) -> Self {
        let reused = POOL.lock().ok().and_then(|mut pool| {
            // The smallest buffer that is large enough.
            let i = (0..pool.len())
                .filter(|&i| pool[i].capacity() >= len)
                .min_by_key(|&i| pool[i].capacity())?;
            Some(pool.swap_remove(i))
        });
        let mut v = reused.unwrap_or_default();
        v.resize(len, 0.0);
        Buf(v)
    }
}

impl Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() == 0 {
            return;
        }
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < KEEP {
                pool.push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_the_asked_length() {
        {
            let mut a = Buf::new(1000);
            a.fill(7.0);
        }
        for len in [0, 1, 500, 1000, 3000] {
            let b = Buf::new(len);
            assert_eq!(b.len(), len);
        }
    }
}
