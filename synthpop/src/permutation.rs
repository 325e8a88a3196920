//! A keyed pseudo-random permutation of `0..n` (a balanced Feistel network with
//! cycle-walking), invertible in O(1) expected time.
//!
//! The population uses it to hand out identity-number slots, HPR numbers and organisation
//! numbers that are unique by construction and scattered, and to look them up backwards
//! (number to person) without an index.

use crate::rng::splitmix64;

const ROUNDS: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// A permutation of `0..n` (n ≥ 1) keyed by `key`.
    pub(crate) fn new(n: u64, key: u64) -> Permutation {
        let bits = 64 - (n.max(2) - 1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut state = key;
        let mut keys = [0u64; ROUNDS];
        for k in &mut keys {
            state = splitmix64(state);
            *k = state;
        }
        Permutation { n, half_bits, keys }
    }

    pub(crate) fn len(&self) -> u64 {
        self.n
    }

    fn mask(&self) -> u64 {
        (1u64 << self.half_bits) - 1
    }

    fn round(&self, r: usize, half: u64) -> u64 {
        splitmix64(half ^ self.keys[r]) & self.mask()
    }

    fn forward(&self, x: u64) -> u64 {
        let mut left = x >> self.half_bits;
        let mut right = x & self.mask();
        for r in 0..ROUNDS {
            let next = left ^ self.round(r, right);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }

    fn backward(&self, y: u64) -> u64 {
        let mut left = y >> self.half_bits;
        let mut right = y & self.mask();
        for r in (0..ROUNDS).rev() {
            let prev = right ^ self.round(r, left);
            right = left;
            left = prev;
        }
        (left << self.half_bits) | right
    }

    /// The image of `x` (`x < n`).
    pub(crate) fn apply(&self, x: u64) -> u64 {
        let mut y = self.forward(x);
        while y >= self.n {
            y = self.forward(y);
        }
        y
    }

    /// The `x` with `apply(x) == y` (`y < n`).
    pub(crate) fn invert(&self, y: u64) -> u64 {
        let mut x = self.backward(y);
        while x >= self.n {
            x = self.backward(x);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_with_its_inverse() {
        for n in [1u64, 2, 3, 10, 365, 1000, 4097] {
            let p = Permutation::new(n, n * 31 + 7);
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = p.apply(x);
                assert!(y < n);
                assert!(!seen[y as usize], "n={n}: {y} hit twice");
                seen[y as usize] = true;
                assert_eq!(p.invert(y), x);
            }
        }
    }

    #[test]
    fn scatters() {
        let p = Permutation::new(1_000_000, 5);
        let firsts: Vec<u64> = (0..5).map(|x| p.apply(x)).collect();
        assert!(firsts.windows(2).all(|w| w[0].abs_diff(w[1]) > 1));
    }
}
