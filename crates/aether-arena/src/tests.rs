//! Unit tests for edge cases that need crate internals (generation exhaustion) or are
//! easiest to state directly.

extern crate std;

use alloc::format;
use alloc::rc::Rc;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::{Arena, ArenaFull, CapacityOverflow, Id, MAX_SLOTS};

#[test]
fn capacity_zero_rejects_every_insert_and_every_id() {
    for mut arena in [Arena::new(), Arena::default(), Arena::with_capacity(0)] {
        assert_eq!(arena.capacity(), 0);
        assert_eq!(arena.slot_count(), 0);
        assert!(arena.is_empty());
        assert_eq!(arena.insert(7_u8), Err(ArenaFull(7)));
        let fabricated = Id::from_bits(0);
        assert_eq!(arena.get(fabricated), None);
        assert_eq!(arena.get_mut(fabricated), None);
        assert_eq!(arena.remove(fabricated), None);
        assert!(!arena.contains(fabricated));
        assert_eq!(arena.get_by_index(0), None);
        assert_eq!(arena.iter().count(), 0);
        arena.clear();
        assert_eq!(arena.len(), 0);
    }
}

#[test]
fn full_arena_gives_the_value_back() {
    let mut arena = Arena::with_capacity(2);
    let first = arena.insert(Rc::new(1)).unwrap();
    arena.insert(Rc::new(2)).unwrap();
    let rejected = Rc::new(3);
    let full = arena.insert(Rc::clone(&rejected)).unwrap_err();
    assert_eq!(Rc::strong_count(&rejected), 2, "the value was not dropped");
    assert!(Rc::ptr_eq(&full.into_inner(), &rejected));
    assert_eq!(arena.len(), 2);
    assert_eq!(arena.get(first).map(|v| **v), Some(1));
}

#[test]
fn arena_full_error_formats_without_requiring_debug_values() {
    struct NotDebug;
    let full = ArenaFull(NotDebug);
    assert_eq!(format!("{full:?}"), "ArenaFull(..)");
    assert!(full.to_string().starts_with("arena is full"));
    let _: &dyn core::error::Error = &full;
}

#[test]
fn removed_id_is_stale_and_slot_reuse_does_not_revive_it() {
    let mut arena = Arena::with_capacity(1);
    let old = arena.insert("old").unwrap();
    assert_eq!(arena.remove(old), Some("old"));
    assert_eq!(arena.remove(old), None, "double remove");
    let new = arena.insert("new").unwrap();
    assert_eq!(new.index(), old.index());
    assert_ne!(new.generation(), old.generation());
    assert_eq!(arena.get(old), None);
    assert_eq!(arena.get_mut(old), None);
    assert!(!arena.contains(old));
    assert_eq!(arena.remove(old), None);
    assert_eq!(arena.get(new), Some(&"new"));
}

#[test]
fn grow_then_insert_keeps_existing_ids() {
    let mut arena = Arena::with_capacity(1);
    let first = arena.insert(10).unwrap();
    assert!(arena.insert(11).is_err());
    arena.grow(2).unwrap();
    assert_eq!(arena.capacity(), 3);
    assert_eq!(arena.slot_count(), 3);
    let second = arena.insert(11).unwrap();
    let third = arena.insert(12).unwrap();
    assert!(arena.insert(13).is_err());
    assert_eq!(arena.get(first), Some(&10));
    assert_eq!(arena.get(second), Some(&11));
    assert_eq!(arena.get(third), Some(&12));
    assert_eq!((second.index(), third.index()), (1, 2));
}

#[test]
fn grow_by_zero_and_reserve_with_room_do_nothing() {
    let mut arena: Arena<u8> = Arena::with_capacity(4);
    arena.grow(0).unwrap();
    arena.reserve(4).unwrap();
    assert_eq!(arena.slot_count(), 4);
    arena.insert(1).unwrap();
    arena.reserve(5).unwrap();
    assert_eq!(arena.slot_count(), 6, "reserve grows by the shortfall only");
    assert_eq!(arena.capacity() - arena.len(), 5);
}

#[test]
fn growing_past_max_slots_is_a_typed_error_and_changes_nothing() {
    let mut arena: Arena<u8> = Arena::with_capacity(3);
    let id = arena.insert(1).unwrap();
    let too_many = MAX_SLOTS - 2;
    let error = arena.grow(too_many).unwrap_err();
    assert_eq!(
        error,
        CapacityOverflow {
            current_slots: 3,
            requested_additional: too_many
        }
    );
    assert_eq!(error.current_slots(), 3);
    assert_eq!(error.requested_additional(), too_many);
    assert!(error.to_string().contains("at most 4294967295 slots"));
    assert!(arena.grow(usize::MAX).is_err());
    assert!(arena.reserve(usize::MAX).is_err());
    assert_eq!(arena.slot_count(), 3);
    assert_eq!(arena.get(id), Some(&1));
}

#[test]
fn clear_drops_values_and_invalidates_every_id() {
    let marker = Rc::new(());
    let mut arena = Arena::with_capacity(3);
    let ids: Vec<Id> = (0..3)
        .map(|_| arena.insert(Rc::clone(&marker)).unwrap())
        .collect();
    arena.remove(ids[1]).unwrap();
    assert_eq!(Rc::strong_count(&marker), 3);
    arena.clear();
    assert_eq!(Rc::strong_count(&marker), 1, "clear dropped the values");
    assert!(arena.is_empty());
    assert_eq!(arena.capacity(), 3);
    for id in &ids {
        assert!(!arena.contains(*id));
    }
    // After clear, inserts take slots in ascending index order.
    let fresh: Vec<Id> = (0..3)
        .map(|_| arena.insert(Rc::clone(&marker)).unwrap())
        .collect();
    assert_eq!(
        fresh.iter().map(|id| id.index()).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for (old, new) in ids.iter().zip(&fresh) {
        assert!(!arena.contains(*old));
        assert!(new.generation() > old.generation());
    }
}

#[test]
fn clear_stays_valid_when_a_drop_panics() {
    struct PanicOnDrop(bool);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if self.0 {
                panic!("drop failed");
            }
        }
    }
    let mut arena = Arena::with_capacity(3);
    let low = arena.insert(PanicOnDrop(false)).unwrap();
    let middle = arena.insert(PanicOnDrop(true)).unwrap();
    let high = arena.insert(PanicOnDrop(false)).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| arena.clear()));
    assert!(result.is_err());
    arena.assert_invariants();
    // Slots are emptied in index order: `low` went first, `middle` panicked.
    assert!(!arena.contains(low));
    assert!(!arena.contains(middle));
    assert!(arena.contains(high), "not reached before the panic");
    assert_eq!(arena.len(), 1);
    assert_eq!(arena.iter().count(), 1);
    // Both freed slots are usable again, then the arena is full.
    let reused: Vec<Id> = (0..2)
        .map(|_| arena.insert(PanicOnDrop(false)).unwrap())
        .collect();
    assert!(reused.iter().all(|id| id.index() != high.index()));
    assert!(arena.insert(PanicOnDrop(false)).is_err());
    // Disarm the remaining value so the arena's own drop is quiet.
    if let Some(value) = arena.get_mut(high) {
        value.0 = false;
    }
}

#[test]
fn exhausted_generation_retires_the_slot_on_remove() {
    let mut arena = Arena::with_capacity_at_generation(2, u32::MAX - 1);
    let first = arena.insert('a').unwrap();
    assert_eq!(first.generation(), u32::MAX - 1);
    arena.remove(first).unwrap();
    let last_use = arena.insert('b').unwrap();
    assert_eq!(last_use, Id::new(first.index(), u32::MAX));
    assert_eq!(arena.remove(last_use), Some('b'));

    // The slot is retired: capacity shrinks, slot_count does not.
    assert_eq!(arena.capacity(), 1);
    assert_eq!(arena.slot_count(), 2);
    let other = arena.insert('c').unwrap();
    assert_ne!(other.index(), first.index());
    assert_eq!(arena.insert('d'), Err(ArenaFull('d')));

    // No id of the retired slot matches, whatever its generation.
    for generation in [0, 1, u32::MAX - 1, u32::MAX] {
        let id = Id::new(first.index(), generation);
        assert_eq!(arena.get(id), None);
        assert_eq!(arena.remove(id), None);
    }
    assert_eq!(arena.get_by_index(first.index()), None);

    arena.assert_invariants();
    // clear keeps it retired.
    arena.clear();
    arena.assert_invariants();
    assert_eq!(arena.capacity(), 1);
    let after_clear = arena.insert('e').unwrap();
    assert_eq!(after_clear.index(), other.index());
    assert!(arena.insert('f').is_err());
}

#[test]
fn exhausted_generation_retires_the_slot_on_clear() {
    let mut arena = Arena::with_capacity_at_generation(3, u32::MAX);
    let ids: Vec<Id> = (0..2).map(|value| arena.insert(value).unwrap()).collect();
    arena.clear();
    arena.assert_invariants();
    assert_eq!(
        arena.capacity(),
        1,
        "two occupied slots retired, the vacant one kept"
    );
    assert_eq!(arena.slot_count(), 3);
    let survivor = arena.insert(9).unwrap();
    assert_eq!(survivor, Id::new(2, u32::MAX));
    for id in ids {
        assert!(!arena.contains(id));
    }
}

#[test]
fn grow_after_retirement_adds_usable_capacity() {
    let mut arena = Arena::with_capacity_at_generation(1, u32::MAX);
    let id = arena.insert(1).unwrap();
    arena.remove(id).unwrap();
    assert_eq!(arena.capacity(), 0);
    assert!(arena.insert(2).is_err());
    arena.reserve(1).unwrap();
    assert_eq!((arena.capacity(), arena.slot_count()), (1, 2));
    assert_eq!(arena.insert(2).unwrap(), Id::new(1, 0));
}

#[test]
fn lookup_by_dense_index() {
    let mut arena = Arena::with_capacity(3);
    let a = arena.insert(1.0_f32).unwrap();
    let b = arena.insert(2.0).unwrap();
    arena.remove(a).unwrap();
    assert_eq!(arena.get_by_index(a.index()), None, "vacant");
    assert_eq!(arena.get_by_index(b.index()), Some((b, &2.0)));
    assert_eq!(arena.get_by_index(2), None, "never used");
    assert_eq!(arena.get_by_index(u32::MAX), None, "out of range");
    if let Some((id, value)) = arena.get_by_index_mut(b.index()) {
        assert_eq!(id, b);
        *value = 3.0;
    }
    assert_eq!(arena.get(b), Some(&3.0));
    assert!(arena.get_by_index_mut(u32::MAX).is_none());
}

#[test]
fn iteration_is_in_index_order_and_exact_sized() {
    let mut arena = Arena::with_capacity(5);
    let ids: Vec<Id> = (0..5).map(|value| arena.insert(value).unwrap()).collect();
    arena.remove(ids[3]).unwrap();
    arena.remove(ids[0]).unwrap();
    let reused = arena.insert(30).unwrap(); // LIFO free stack: takes slot 0
    assert_eq!(reused.index(), 0);

    let iter = arena.iter();
    assert_eq!(iter.len(), 4);
    let seen: Vec<(Id, i32)> = iter.map(|(id, value)| (id, *value)).collect();
    assert_eq!(seen, [(reused, 30), (ids[1], 1), (ids[2], 2), (ids[4], 4)]);
    assert_eq!(
        arena.ids().collect::<Vec<_>>(),
        [reused, ids[1], ids[2], ids[4]]
    );
    for (_, value) in &mut arena {
        *value *= 10;
    }
    assert_eq!(
        (&arena).into_iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        [300, 10, 20, 40]
    );
    assert_eq!(arena.iter_mut().len(), 4);
}

#[test]
fn id_bits_display_debug_and_order() {
    let id = Id::new(3, 1);
    assert_eq!(id.to_string(), "3v1");
    assert_eq!(format!("{id:?}"), "Id(3v1)");
    assert_eq!(id.to_bits(), (1 << 32) | 3);
    assert_eq!(Id::from_bits(id.to_bits()), id);
    let extreme = Id::new(u32::MAX, u32::MAX);
    assert_eq!(Id::from_bits(extreme.to_bits()), extreme);
    assert_eq!(Id::from_bits(u64::MAX), extreme);
    assert!(Id::new(1, 9) < Id::new(2, 0), "index orders first");
    assert!(Id::new(1, 0) < Id::new(1, 1));
}

#[test]
fn arena_debug_lists_live_values() {
    let mut arena = Arena::with_capacity(3);
    arena.insert("a").unwrap();
    let b = arena.insert("b").unwrap();
    arena.remove(b);
    assert_eq!(format!("{arena:?}"), r#"{Id(0v0): "a"}"#);
}

#[test]
fn clone_is_independent_and_keeps_a_full_size_free_stack() {
    let mut original = Arena::with_capacity(4);
    let kept = original.insert(1).unwrap();
    let removed = original.insert(2).unwrap();
    original.remove(removed).unwrap();
    let mut copy = original.clone();
    copy.assert_invariants();
    assert_eq!(copy.get(kept), Some(&1));
    assert_eq!(copy.remove(kept), Some(1));
    copy.assert_invariants();
    assert_eq!(original.get(kept), Some(&1), "the original is untouched");
    let ids: Vec<Id> = (0..4).map(|v| copy.insert(v).unwrap()).collect();
    assert!(copy.insert(9).is_err());
    for id in ids {
        copy.remove(id).unwrap();
    }
    copy.assert_invariants();
    assert_eq!(copy.capacity(), 4);
}

/// Random operation sequences against the internal invariants, with slots starting close
/// to generation exhaustion so retirement happens often.
mod random_operations {
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use crate::{Arena, Id};

    #[derive(Clone, Debug)]
    enum Op {
        Insert,
        Remove(usize),
        Grow(usize),
        Reserve(usize),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => Just(Op::Insert),
            5 => any::<usize>().prop_map(Op::Remove),
            1 => (0..3_usize).prop_map(Op::Grow),
            1 => (0..4_usize).prop_map(Op::Reserve),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        #[test]
        fn invariants_hold_and_retired_ids_never_revive(
            capacity in 0..6_usize,
            generations_left in 0..4_u32,
            ops in prop::collection::vec(op(), 0..120),
        ) {
            let mut arena = Arena::with_capacity_at_generation(capacity, u32::MAX - generations_left);
            let mut issued: Vec<Id> = Vec::new();
            let mut live: Vec<Id> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert => {
                        let had_room = arena.len() < arena.capacity();
                        match arena.insert(0_u8) {
                            Ok(id) => {
                                prop_assert!(had_room);
                                prop_assert!(!issued.contains(&id), "id {} reissued", id);
                                issued.push(id);
                                live.push(id);
                            }
                            Err(_) => prop_assert!(!had_room),
                        }
                    }
                    Op::Remove(selector) if !issued.is_empty() => {
                        let id = issued[selector % issued.len()];
                        let was_live = live.contains(&id);
                        prop_assert_eq!(arena.remove(id).is_some(), was_live);
                        live.retain(|other| *other != id);
                    }
                    Op::Remove(_) => {}
                    Op::Grow(additional) => arena.grow(additional).unwrap(),
                    Op::Reserve(additional) => {
                        arena.reserve(additional).unwrap();
                        prop_assert!(arena.capacity() - arena.len() >= additional);
                    }
                    Op::Clear => {
                        arena.clear();
                        live.clear();
                    }
                }
                arena.assert_invariants();
                for id in &issued {
                    prop_assert_eq!(arena.contains(*id), live.contains(id));
                }
            }
        }
    }
}

#[test]
fn held_slots_are_not_reused_until_released() {
    let mut arena: Arena<u32> = Arena::with_capacity(3);
    let a = arena.insert(1).unwrap();
    let b = arena.insert(2).unwrap();
    assert_eq!(arena.remove_held(a), Some(1));
    assert_eq!(arena.remove_held(a), None, "a stale id holds nothing");
    assert!(!arena.contains(a));
    assert_eq!(
        (arena.len(), arena.capacity(), arena.held_count()),
        (1, 2, 1)
    );
    arena.assert_invariants();
    // The one free slot is taken; the held one is not.
    let c = arena.insert(3).unwrap();
    assert_ne!(c.index(), a.index());
    assert!(arena.insert(4).is_err(), "the held slot was reused");
    arena.assert_invariants();
    arena.release_held();
    assert_eq!((arena.capacity(), arena.held_count()), (3, 0));
    let d = arena.insert(5).unwrap();
    assert_eq!(d.index(), a.index());
    assert_ne!(d, a, "a new generation");
    assert!(!arena.contains(a));
    assert_eq!(arena.get(b), Some(&2));
    arena.assert_invariants();
    // Clearing leaves held slots held.
    assert_eq!(arena.remove_held(b), Some(2));
    arena.clear();
    assert_eq!(
        (arena.len(), arena.capacity(), arena.held_count()),
        (0, 2, 1)
    );
    arena.assert_invariants();
}
