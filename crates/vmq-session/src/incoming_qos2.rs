//! The packet ids of a client's QoS 2 publishes that are not released yet (PUBREL not
//! received), each with whether its PUBREC went out.
//!
//! A client may keep up to the broker's Receive Maximum of them (65,535 by default). Most keep
//! a handful, which a short list answers fastest and in the least memory; past
//! [`LIST_MAX`] ids the set moves to two bitmaps over the 16-bit id space, so that every
//! PUBLISH and PUBREL of a client with a large window is answered in constant time instead of
//! a scan of all its ids (which made filling a window of 65,535 quadratic: about 2·10⁹
//! comparisons). The bitmaps go once the set is empty again.

/// Ids kept in the list before the set moves to bitmaps.
const LIST_MAX: usize = 64;

/// Words of one bitmap over the 65,536 packet ids.
const WORDS: usize = 65_536 / 64;

/// The unreleased incoming QoS 2 packet ids of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IncomingQos2 {
    /// Few ids: `(packet id, PUBREC sent)` in arrival order.
    List(Vec<(u16, bool)>),
    /// Many ids (allocated only for a client that uses a large window).
    Bitmaps(Box<Bitmaps>),
}

/// Which ids are in the set, and which of them had their PUBREC sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bitmaps {
    present: [u64; WORDS],
    rec_sent: [u64; WORDS],
    len: usize,
}

fn bit(id: u16) -> (usize, u64) {
    (usize::from(id) / 64, 1u64 << (id % 64))
}

impl Bitmaps {
    fn get(&self, id: u16) -> Option<bool> {
        let (w, b) = bit(id);
        (self.present[w] & b != 0).then_some(self.rec_sent[w] & b != 0)
    }

    fn set(&mut self, id: u16, rec_sent: bool) {
        let (w, b) = bit(id);
        if self.present[w] & b == 0 {
            self.len += 1;
        }
        self.present[w] |= b;
        if rec_sent {
            self.rec_sent[w] |= b;
        } else {
            self.rec_sent[w] &= !b;
        }
    }

    /// Sets the PUBREC bit of `id` if `id` is present.
    fn mark_rec_sent(&mut self, id: u16) {
        let (w, b) = bit(id);
        self.rec_sent[w] |= self.present[w] & b;
    }

    fn remove(&mut self, id: u16) -> bool {
        let (w, b) = bit(id);
        let present = self.present[w] & b != 0;
        if present {
            self.present[w] &= !b;
            self.rec_sent[w] &= !b;
            self.len -= 1;
        }
        present
    }
}

impl Default for IncomingQos2 {
    fn default() -> Self {
        IncomingQos2::List(Vec::new())
    }
}

impl IncomingQos2 {
    /// How many ids are unreleased.
    pub(crate) fn len(&self) -> usize {
        match self {
            IncomingQos2::List(list) => list.len(),
            IncomingQos2::Bitmaps(maps) => maps.len,
        }
    }

    /// `Some(PUBREC sent)` when `id` is in the set.
    pub(crate) fn get(&self, id: u16) -> Option<bool> {
        match self {
            IncomingQos2::List(list) => list.iter().find(|(i, _)| *i == id).map(|(_, r)| *r),
            IncomingQos2::Bitmaps(maps) => maps.get(id),
        }
    }

    /// Adds `id`, whose PUBREC has not been sent. The caller has checked it is not in the set.
    pub(crate) fn insert(&mut self, id: u16) {
        match self {
            IncomingQos2::List(list) if list.len() < LIST_MAX => list.push((id, false)),
            IncomingQos2::List(list) => {
                let mut maps = Box::new(Bitmaps {
                    present: [0; WORDS],
                    rec_sent: [0; WORDS],
                    len: 0,
                });
                for &(i, rec_sent) in list.iter() {
                    maps.set(i, rec_sent);
                }
                maps.set(id, false);
                *self = IncomingQos2::Bitmaps(maps);
            }
            IncomingQos2::Bitmaps(maps) => maps.set(id, false),
        }
    }

    /// Records that the PUBREC of `id` went out (nothing when `id` is not in the set).
    pub(crate) fn mark_rec_sent(&mut self, id: u16) {
        match self {
            IncomingQos2::List(list) => {
                if let Some(entry) = list.iter_mut().find(|(i, _)| *i == id) {
                    entry.1 = true;
                }
            }
            IncomingQos2::Bitmaps(maps) => maps.mark_rec_sent(id),
        }
    }

    /// Removes `id`; true if it was in the set.
    pub(crate) fn remove(&mut self, id: u16) -> bool {
        let removed = match self {
            IncomingQos2::List(list) => match list.iter().position(|(i, _)| *i == id) {
                Some(at) => {
                    list.swap_remove(at);
                    true
                }
                None => false,
            },
            IncomingQos2::Bitmaps(maps) => maps.remove(id),
        };
        if matches!(self, IncomingQos2::Bitmaps(maps) if maps.len == 0) {
            *self = IncomingQos2::default();
        }
        removed
    }

    /// Removes `id` if its PUBREC went out (a PUBREL for it is expected); true if it did.
    pub(crate) fn release(&mut self, id: u16) -> bool {
        self.get(id) == Some(true) && self.remove(id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use std::collections::{btree_map::Entry, BTreeMap};

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        MarkRecSent(u16),
        Remove(u16),
        Release(u16),
    }

    fn op(ids: u16) -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..ids).prop_map(Op::Insert),
            2 => (0..ids).prop_map(Op::MarkRecSent),
            1 => (0..ids).prop_map(Op::Remove),
            2 => (0..ids).prop_map(Op::Release),
        ]
    }

    proptest! {
        /// The set answers as a map from id to "PUBREC sent" does, across the move to bitmaps
        /// and back.
        #[test]
        fn behaves_as_a_map(ops in proptest::collection::vec(op(200), 0..600)) {
            let mut set = IncomingQos2::default();
            let mut model: BTreeMap<u16, bool> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(id) => {
                        if let Entry::Vacant(vacant) = model.entry(id) {
                            set.insert(id);
                            vacant.insert(false);
                        }
                    }
                    Op::MarkRecSent(id) => {
                        set.mark_rec_sent(id);
                        if let Some(r) = model.get_mut(&id) {
                            *r = true;
                        }
                    }
                    Op::Remove(id) => {
                        prop_assert_eq!(set.remove(id), model.remove(&id).is_some());
                    }
                    Op::Release(id) => {
                        let expected = model.get(&id) == Some(&true);
                        if expected {
                            model.remove(&id);
                        }
                        prop_assert_eq!(set.release(id), expected);
                    }
                }
                prop_assert_eq!(set.len(), model.len());
                for id in 0..200 {
                    prop_assert_eq!(set.get(id), model.get(&id).copied());
                }
                if model.is_empty() {
                    prop_assert_eq!(&set, &IncomingQos2::default());
                }
            }
        }
    }

    #[test]
    fn a_full_window_of_ids_moves_to_bitmaps_and_back() {
        let mut set = IncomingQos2::default();
        for id in 1..=u16::MAX {
            set.insert(id);
        }
        assert!(matches!(set, IncomingQos2::Bitmaps(_)));
        assert_eq!(set.len(), 65_535);
        assert_eq!(set.get(0), None);
        assert_eq!(set.get(1), Some(false));
        set.mark_rec_sent(u16::MAX);
        assert!(!set.release(1), "no PUBREC sent for 1 yet");
        assert!(set.release(u16::MAX));
        for id in 1..u16::MAX {
            assert!(set.remove(id));
        }
        assert_eq!(set, IncomingQos2::List(Vec::new()));
    }

    #[test]
    fn takes_no_more_room_in_the_session_than_a_list() {
        assert_eq!(
            std::mem::size_of::<IncomingQos2>(),
            std::mem::size_of::<Vec<(u16, bool)>>()
        );
    }
}
