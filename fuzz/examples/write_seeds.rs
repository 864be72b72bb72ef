//! Writes the generated part of the seed corpus: `corpus/binary_patch/*.bin` (the binary
//! encoding of every `examples/patches/*.json`) and `corpus/control_model/*.ops` (hand-written
//! op sequences, encoded so that `aether_fuzz::control_model` decodes them back).
//!
//! Run from anywhere: `cargo run --manifest-path fuzz/Cargo.toml --no-default-features
//! --example write_seeds`. The console and JSON seeds are plain files, edited by hand.

use std::fs;
use std::path::Path;

use aether_fuzz::Op;
use aether_state::GraphSnapshot;
use arbitrary::{Arbitrary, Unstructured};

/// Variants of [`Op`], in declaration order (for the discriminant encoding).
const OP_VARIANTS: u64 = 9;

/// The bytes `arbitrary` reads as variant `index` of an enum with `count` variants: a
/// little-endian `u32` `x` with `(x * count) >> 32 == index`.
fn variant(index: u64, count: u64) -> [u8; 4] {
    let x = (index << 32).div_ceil(count);
    u32::try_from(x).expect("index < count").to_le_bytes()
}

/// Encodes one op (the fields in declaration order, as `arbitrary` reads them).
fn encode(op: &Op, out: &mut Vec<u8>) {
    let (index, fields): (u64, Vec<u8>) = match *op {
        Op::Add { type_index } => (0, vec![type_index]),
        Op::Remove { node } => (1, vec![node]),
        Op::Connect {
            source,
            destination,
            slot,
        } => (2, vec![source, destination, slot]),
        Op::Disconnect { destination, slot } => (3, vec![destination, slot]),
        Op::SetParam {
            node,
            index,
            value,
            ramp,
        } => {
            let mut fields = vec![node, index];
            match value {
                aether_fuzz::Value::Bits(bits) => {
                    fields.extend(variant(0, 4));
                    fields.extend(bits.to_le_bytes());
                }
                aether_fuzz::Value::Nan => fields.extend(variant(1, 4)),
                aether_fuzz::Value::Infinity => fields.extend(variant(2, 4)),
                aether_fuzz::Value::NegativeInfinity => fields.extend(variant(3, 4)),
            }
            fields.extend(ramp.to_le_bytes());
            (4, fields)
        }
        Op::SetOutput { node } => (5, vec![node]),
        Op::Commit => (6, vec![]),
        Op::Process { blocks } => (7, vec![blocks]),
        Op::Clear => (8, vec![]),
    };
    out.extend(variant(index, OP_VARIANTS));
    out.extend(fields);
}

fn write_ops(dir: &Path, name: &str, ops: &[Op]) {
    let mut bytes = Vec::new();
    for op in ops {
        encode(op, &mut bytes);
    }
    // Check the encoding: decoding must give the same ops back.
    let mut input = Unstructured::new(&bytes);
    let mut decoded = Vec::new();
    while !input.is_empty() {
        decoded.push(Op::arbitrary(&mut input).expect("decodes"));
    }
    assert_eq!(
        format!("{decoded:?}"),
        format!("{ops:?}"),
        "encoding of {name}"
    );
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let patches = fuzz.join("../examples/patches");
    let binary = fuzz.join("corpus/binary_patch");
    fs::create_dir_all(&binary).expect("create corpus dir");
    let mut names: Vec<_> = fs::read_dir(&patches)
        .expect("examples/patches")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    names.sort();
    for path in names {
        let text = fs::read_to_string(&path).expect("read patch");
        let snapshot = GraphSnapshot::from_json(&text).expect("example patches parse");
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        fs::write(binary.join(format!("{stem}.bin")), snapshot.to_bytes()).expect("write");
    }

    use Op::*;
    use aether_fuzz::Value;
    let ops = fuzz.join("corpus/control_model");
    fs::create_dir_all(&ops).expect("create corpus dir");
    // Type indices are positions in the registry's sorted names: 1 = Biquad, 3 = Delay,
    // 4 = Gain, 11 = Sine.
    write_ops(
        &ops,
        "chain.ops",
        &[
            Add { type_index: 11 },
            Add { type_index: 4 },
            Connect {
                source: 0,
                destination: 1,
                slot: 0,
            },
            SetOutput { node: 1 },
            Process { blocks: 2 },
            SetParam {
                node: 1,
                index: 0,
                value: Value::Bits(0.5),
                ramp: 64,
            },
            Process { blocks: 1 },
            Commit,
        ],
    );
    write_ops(
        &ops,
        "refusals.ops",
        &[
            Add { type_index: 11 },
            Add { type_index: 4 },
            Connect {
                source: 0,
                destination: 1,
                slot: 8,
            },
            Connect {
                source: 0,
                destination: 0,
                slot: 0,
            },
            Connect {
                source: 0,
                destination: 1,
                slot: 0,
            },
            Connect {
                source: 1,
                destination: 0,
                slot: 0,
            },
            Disconnect {
                destination: 1,
                slot: 200,
            },
            SetParam {
                node: 0,
                index: 0,
                value: Value::Nan,
                ramp: 0,
            },
            SetParam {
                node: 0,
                index: 0,
                value: Value::Infinity,
                ramp: 0,
            },
            SetParam {
                node: 0,
                index: 0,
                value: Value::NegativeInfinity,
                ramp: 0,
            },
            SetParam {
                node: 0,
                index: 9,
                value: Value::Bits(1.0),
                ramp: 0,
            },
            SetParam {
                node: 0,
                index: 0,
                value: Value::Bits(1.0e30),
                ramp: 0,
            },
            SetOutput { node: 7 },
            Remove { node: 0 },
            Remove { node: 0 },
            SetOutput { node: 0 },
            Process { blocks: 3 },
        ],
    );
    let mut busy = Vec::new();
    for _ in 0..14 {
        busy.push(Add { type_index: 1 });
    }
    busy.extend([
        Connect {
            source: 0,
            destination: 1,
            slot: 0,
        },
        SetOutput { node: 1 },
        Process { blocks: 8 },
        Commit,
        Clear,
        Add { type_index: 3 },
        Process { blocks: 1 },
    ]);
    write_ops(&ops, "full-and-busy.ops", &busy);
}
