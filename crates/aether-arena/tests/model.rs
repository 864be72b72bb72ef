//! Property test: `Arena` against a `HashMap<Id, u32>` model over random operation
//! sequences, including stale ids, fabricated ids, full-arena inserts, growth and clear.

use std::collections::{HashMap, HashSet};

use aether_arena::{Arena, ArenaFull, Id};
use proptest::prelude::*;

/// How an operation picks the id it acts on.
#[derive(Clone, Debug)]
enum IdChoice {
    /// One of the ids handed out so far (live or stale), chosen by `selector % count`.
    Issued(usize),
    /// An id built from raw bits, with a small index so it often hits a real slot.
    Fabricated { index: u32, generation: u32 },
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u32),
    Remove(IdChoice),
    Get(IdChoice),
    GetMut(IdChoice, u32),
    Contains(IdChoice),
    GetByIndex(u32),
    Grow(usize),
    Reserve(usize),
    Clear,
}

fn id_choice() -> impl Strategy<Value = IdChoice> {
    prop_oneof![
        4 => any::<usize>().prop_map(IdChoice::Issued),
        1 => (0..12_u32, 0..4_u32)
            .prop_map(|(index, generation)| IdChoice::Fabricated { index, generation }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => any::<u32>().prop_map(Op::Insert),
        6 => id_choice().prop_map(Op::Remove),
        3 => id_choice().prop_map(Op::Get),
        2 => (id_choice(), any::<u32>()).prop_map(|(id, value)| Op::GetMut(id, value)),
        2 => id_choice().prop_map(Op::Contains),
        1 => (0..12_u32).prop_map(Op::GetByIndex),
        1 => (0..3_usize).prop_map(Op::Grow),
        1 => (0..4_usize).prop_map(Op::Reserve),
        1 => Just(Op::Clear),
    ]
}

/// The arena plus everything the model knows.
struct Harness {
    arena: Arena<u32>,
    model: HashMap<Id, u32>,
    /// Every id ever handed out, in order (for stale-id picks).
    issued: Vec<Id>,
    /// Same ids as a set, to prove no id is handed out twice.
    issued_set: HashSet<Id>,
    /// Model of `capacity()` (no slot reaches generation exhaustion in these runs).
    capacity: usize,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        Self {
            arena: Arena::with_capacity(capacity),
            model: HashMap::new(),
            issued: Vec::new(),
            issued_set: HashSet::new(),
            capacity,
        }
    }

    fn pick(&self, choice: &IdChoice) -> Id {
        match *choice {
            IdChoice::Issued(selector) if !self.issued.is_empty() => {
                self.issued[selector % self.issued.len()]
            }
            IdChoice::Issued(selector) => Id::from_bits(selector as u64),
            IdChoice::Fabricated { index, generation } => {
                Id::from_bits((u64::from(generation) << 32) | u64::from(index))
            }
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Insert(value) => match self.arena.insert(*value) {
                Ok(id) => {
                    prop_assert!(self.model.len() < self.capacity, "insert beyond capacity");
                    prop_assert!(self.issued_set.insert(id), "id {id} handed out twice");
                    prop_assert!((id.index() as usize) < self.arena.slot_count());
                    self.issued.push(id);
                    self.model.insert(id, *value);
                }
                Err(ArenaFull(returned)) => {
                    prop_assert_eq!(self.model.len(), self.capacity, "spurious ArenaFull");
                    prop_assert_eq!(returned, *value);
                }
            },
            Op::Remove(choice) => {
                let id = self.pick(choice);
                prop_assert_eq!(self.arena.remove(id), self.model.remove(&id));
            }
            Op::Get(choice) => {
                let id = self.pick(choice);
                prop_assert_eq!(self.arena.get(id), self.model.get(&id));
            }
            Op::GetMut(choice, new_value) => {
                let id = self.pick(choice);
                match (self.arena.get_mut(id), self.model.get_mut(&id)) {
                    (Some(actual), Some(expected)) => {
                        prop_assert_eq!(*actual, *expected);
                        *actual = *new_value;
                        *expected = *new_value;
                    }
                    (None, None) => {}
                    (actual, expected) => {
                        prop_assert!(false, "get_mut({id}): {actual:?} vs model {expected:?}");
                    }
                }
            }
            Op::Contains(choice) => {
                let id = self.pick(choice);
                prop_assert_eq!(self.arena.contains(id), self.model.contains_key(&id));
            }
            Op::GetByIndex(index) => {
                let expected = self.model.iter().find(|(id, _)| id.index() == *index);
                let actual = self.arena.get_by_index(*index);
                prop_assert_eq!(actual, expected.map(|(id, value)| (*id, value)));
            }
            Op::Grow(additional) => {
                self.arena.grow(*additional).unwrap();
                self.capacity += additional;
            }
            Op::Reserve(additional) => {
                self.arena.reserve(*additional).unwrap();
                self.capacity = self.capacity.max(self.model.len() + additional);
            }
            Op::Clear => {
                self.arena.clear();
                self.model.clear();
            }
        }
        self.check_invariants()
    }

    fn check_invariants(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.arena.len(), self.model.len());
        prop_assert_eq!(self.arena.is_empty(), self.model.is_empty());
        prop_assert_eq!(self.arena.capacity(), self.capacity);
        prop_assert_eq!(self.arena.slot_count(), self.capacity);

        let mut expected: Vec<(Id, u32)> = self.model.iter().map(|(id, v)| (*id, *v)).collect();
        expected.sort_by_key(|(id, _)| id.index());
        let actual: Vec<(Id, u32)> = self.arena.iter().map(|(id, v)| (id, *v)).collect();
        prop_assert_eq!(&actual, &expected, "iteration contents or order");
        let ids: Vec<Id> = self.arena.ids().collect();
        prop_assert_eq!(ids, expected.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        prop_assert_eq!(self.arena.iter().len(), self.model.len());

        // Every issued id that the model no longer holds is stale for good.
        for id in &self.issued {
            prop_assert_eq!(self.arena.contains(*id), self.model.contains_key(id));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arena_matches_hashmap_model(
        capacity in 0..8_usize,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        let mut harness = Harness::new(capacity);
        harness.check_invariants()?;
        for op in &ops {
            harness.apply(op)?;
        }
    }

    #[test]
    fn iter_mut_visits_exactly_the_live_values(
        capacity in 0..16_usize,
        removals in prop::collection::vec(any::<bool>(), 16),
    ) {
        let mut arena = Arena::with_capacity(capacity);
        let ids: Vec<Id> = (0..capacity as u32).map(|v| arena.insert(v).unwrap()).collect();
        let mut expected = Vec::new();
        for (id, remove) in ids.iter().zip(&removals) {
            if *remove {
                arena.remove(*id).unwrap();
            } else {
                expected.push((*id, arena.get(*id).unwrap() + 100));
            }
        }
        for (_, value) in arena.iter_mut() {
            *value += 100;
        }
        let actual: Vec<(Id, u32)> = arena.iter().map(|(id, v)| (id, *v)).collect();
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn id_bits_round_trip(bits in any::<u64>()) {
        let id = Id::from_bits(bits);
        prop_assert_eq!(id.to_bits(), bits);
        prop_assert_eq!(Id::from_bits(id.to_bits()), id);
    }
}
