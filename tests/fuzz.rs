//! The fuzz targets in every test run: each target gets its committed
//! corpus (`tests/fuzz/corpus/TARGET/`: seeds, and every crash ever found,
//! kept as a regression test) and a fixed number of seeded mutations of
//! it. Coverage-guided runs are `./x fuzz` (libFuzzer); this is the short
//! run CI can afford, deterministic so a failure reproduces.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::PathBuf,
};

use hark_tests::{fuzz::TARGETS, workspace_root};

/// Mutations tried per target and run.
const MUTATIONS: usize = 3000;

/// xorshift64*: deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that find edge cases more often than random bytes do.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x80",
    b"\xff\xff\xff\x7f",
    b"(",
    b")",
    b"[",
    b"\"",
    b"\\",
    b"\n",
    b"-1",
    b"1e309",
    b"4294967295",
];

/// One mutation of `input`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next() as u8;
            }
            2 => out.insert(at, rng.next() as u8),
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, value.iter().copied());
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = workspace_root().join("tests/fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn run_target(name: &str, target: fn(&[u8])) {
    let seeds = corpus(name);
    assert!(!seeds.is_empty(), "{name} has a corpus");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let mut inputs = seeds.clone();
    for i in 0..MUTATIONS {
        let seed = &seeds[i % seeds.len()];
        let other = &seeds[rng.below(seeds.len())];
        inputs.push(mutate(&mut rng, seed, other));
    }
    for input in inputs {
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let keep = std::env::temp_dir().join(format!("hark-fuzz-{name}-failure"));
            std::fs::write(&keep, &input).unwrap();
            panic!(
                "fuzz target `{name}` failed on {} bytes, kept in {} \
                 (add it to tests/fuzz/corpus/{name}/ once fixed)",
                input.len(),
                keep.display()
            );
        }
    }
}

#[test]
fn every_target_has_a_libfuzzer_entry() {
    let mut listed: Vec<String> =
        std::fs::read_dir(workspace_root().join("tests/fuzz/fuzz_targets"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
    listed.sort();
    let mut names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    names.sort();
    assert_eq!(
        listed, names,
        "tests/fuzz/fuzz_targets has one file per target"
    );
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_target(stringify!($name), hark_tests::fuzz::$name);
            }
        )*
        /// The targets tested here, to check against [`TARGETS`].
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

targets!(
    ron,
    pipeline,
    settings,
    wav,
    convert,
    wyoming,
    ctranslate2,
    npz,
    safetensors,
    wordpiece,
    isolate,
    ocr,
    c_bridge
);

#[test]
fn every_target_is_tested_here() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, TESTED);
}
