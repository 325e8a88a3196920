//! Fuzzing the scenario reader ([`conformance::scenario::parse`]): every bundled scenario
//! file, mutated thousands of ways (lines dropped, repeated, swapped, re-indented, cut short,
//! values replaced by YAML's awkward corners: anchors, aliases, tags, flow collections,
//! huge numbers, unterminated quotes, control characters), plus arbitrary text and the
//! classic YAML bombs (deep nesting, alias expansion, document storms). The properties:
//! nothing panics, each parse is quick, an error names a line that exists, and every bundled
//! file still parses.
//!
//! The mutations come from a small seeded generator rather than proptest, which this crate
//! does not depend on; the run is reproducible, and `FUZZ_SEED` / `FUZZ_ITERATIONS` pick
//! another seed or a longer run:
//! `FUZZ_ITERATIONS=20000 cargo test -p conformance --test fuzz_scenarios`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use conformance::scenario::{self, ScenarioError};

/// The most one parse may take.
const CASE_BUDGET: Duration = Duration::from_millis(750);
/// The most a whole battery may take before it counts as a hang.
const BATTERY_BUDGET: Duration = Duration::from_secs(60);

const SCENARIOS: &[(&str, &str)] = &[
    (
        "api-bearer.yaml",
        include_str!("../../scenarios/api-bearer.yaml"),
    ),
    (
        "api-multi-tenant.yaml",
        include_str!("../../scenarios/api-multi-tenant.yaml"),
    ),
    (
        "api-system.yaml",
        include_str!("../../scenarios/api-system.yaml"),
    ),
    (
        "api-tillitsrammeverk.yaml",
        include_str!("../../scenarios/api-tillitsrammeverk.yaml"),
    ),
    (
        "api-user-level4.yaml",
        include_str!("../../scenarios/api-user-level4.yaml"),
    ),
    (
        "client-login.yaml",
        include_str!("../../scenarios/client-login.yaml"),
    ),
    (
        "client-machine.yaml",
        include_str!("../../scenarios/client-machine.yaml"),
    ),
    (
        "client-multi-tenant-login.yaml",
        include_str!("../../scenarios/client-multi-tenant-login.yaml"),
    ),
    (
        "client-multi-tenant.yaml",
        include_str!("../../scenarios/client-multi-tenant.yaml"),
    ),
    (
        "idp-bankid.yaml",
        include_str!("../../scenarios/idp-bankid.yaml"),
    ),
];

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0048_454C_5345_4944)
}

fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Values YAML makes awkward.
const VALUES: &[&str] = &[
    "",
    "~",
    "null",
    "[]",
    "{}",
    "[a, [b, [c]]]",
    "{a: {b: {c: d}}}",
    "&anchor x",
    "*anchor",
    "*nowhere",
    "&a [*a]",
    "!!binary aGVsbG8=",
    "!!int 99999999999999999999999999",
    "!custom tag",
    "!!map {}",
    "!!seq []",
    "<<: *a",
    "99999999999999999999999999999",
    "-9223372036854775809",
    "1e400",
    "-.inf",
    ".nan",
    "0x7FFFFFFFFFFFFFFF",
    "0o777",
    "true",
    "yes",
    "no",
    "\"unterminated",
    "'unterminated",
    "\"\\u0000\\uD800\"",
    "\"\\x\"",
    "|",
    ">-",
    "|+\n  text",
    "- a\n- b",
    "? complex\n: key",
    "\t",
    "\u{0}",
    "\u{feff}",
    "\u{2028}",
    "ø æ å 🦀",
    "http://",
    "https://[::1",
    "http://127.0.0.1:99999/x",
    "api",
    "client",
    "idp",
    "dpop",
    "bearer",
    "4",
    "3",
    "05757041733",
    "54886143942",
    "15038512363",
    "999977774",
    "nhn:api/x",
    "GET",
    "get",
    "---",
    "...",
    "%YAML 1.2",
    "%TAG ! tag:x,2000:",
    "#",
    ": :",
    "{{pid}}",
    "{pid}",
];

/// Keys of the scenario format, to insert where they do not belong.
const KEYS: &[&str] = &[
    "name",
    "description",
    "kind",
    "target",
    "url",
    "method",
    "api",
    "audience",
    "scopes",
    "idp",
    "issuer",
    "client_id",
    "client_secret",
    "redirect_uri",
    "users",
    "pid",
    "level",
    "amr",
    "login",
    "form",
    "fill",
    "submit",
    "client",
    "command",
    "requirements",
    "token_binding",
    "security_level",
    "tillitsrammeverk",
    "organisations",
    "sts",
    "port",
    "checks",
    "only",
    "skip",
    "unknown_field",
    "<<",
];

/// One random change of `text`.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len());
    match rng.below(12) {
        // Replace a value.
        0..=2 => {
            let value = rng.pick(VALUES);
            let line = &lines[i];
            lines[i] = match line.split_once(':') {
                Some((key, _)) => format!("{key}: {value}"),
                None => format!("{line} {value}"),
            };
        }
        // A value with a list item's dash, or a list item's value.
        3 => {
            let value = rng.pick(VALUES);
            let indent = lines[i].len() - lines[i].trim_start().len();
            lines.insert(i, format!("{}- {value}", " ".repeat(indent)));
        }
        // A key where it does not belong.
        4 => {
            let indent = rng.below(8);
            let (key, value) = (rng.pick(KEYS), rng.pick(VALUES));
            lines.insert(i, format!("{}{key}: {value}", " ".repeat(indent)));
        }
        5 => {
            lines.remove(i);
        }
        6 => {
            let copy = lines[i].clone();
            lines.insert(i, copy);
        }
        7 => {
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
        // Re-indent.
        8 => {
            if rng.chance(50) {
                lines[i] = format!("{}{}", " ".repeat(rng.below(5)), lines[i]);
            } else {
                lines[i] = lines[i].trim_start().to_owned();
            }
        }
        // Cut short, at any character.
        9 => {
            let all = lines.join("\n");
            let cut = rng.below(all.len() + 1);
            let cut = (0..=cut).rev().find(|c| all.is_char_boundary(*c)).unwrap();
            return all[..cut].to_owned();
        }
        // Raw bytes, read as UTF-8 would be (lossily).
        10 => {
            let bytes: Vec<u8> = (0..rng.below(12)).map(|_| rng.next() as u8).collect();
            let at = rng.below(lines[i].len() + 1);
            let at = (0..=at)
                .rev()
                .find(|c| lines[i].is_char_boundary(*c))
                .unwrap();
            lines[i].insert_str(at, &String::from_utf8_lossy(&bytes));
        }
        // A tab, which YAML forbids in indentation.
        _ => lines[i] = format!("\t{}", lines[i]),
    }
    let mut out = lines.join("\n");
    if rng.chance(70) {
        out.push('\n');
    }
    out
}

/// Parses `text` catching panics, within [`CASE_BUDGET`]; an error must point at a line of
/// the text (or at none).
fn parse_checked(text: &str, what: &str) -> Result<(), ScenarioError> {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| scenario::parse(text, "fuzz.yaml")));
    let took = start.elapsed();
    let result = match result {
        Ok(r) => r,
        Err(_) => panic!("{what}: the scenario reader panicked on:\n{text}"),
    };
    assert!(
        took < CASE_BUDGET,
        "{what}: parsing took {took:?} for:\n{text}"
    );
    match &result {
        Ok(s) => {
            // A scenario that reads is also valid by the rules the schema cannot say.
            assert!(scenario::validate(s).is_ok(), "{what}: {text}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            if let ScenarioError::Syntax { line, column, .. } = e {
                let lines = text.lines().count().max(1) as u64;
                // A YAML error may point just past the last line (an unterminated value).
                assert!(
                    *line >= 1 && *line <= lines + 1 && *column >= 1,
                    "{what}: line {line} column {column} outside the text ({lines} lines): {message}\n{text}"
                );
            }
        }
    }
    result.map(|_| ())
}

/// Runs `f` on its own thread and fails if it has not finished in `budget` (a hang).
fn within(budget: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            f();
            let _ = tx.send(());
        })
        .unwrap();
    match rx.recv_timeout(budget) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The worker panicked: hand its panic on.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no answer after {budget:?}: a hang"),
    }
}

#[test]
fn bundled_scenarios_parse() {
    for (name, text) in SCENARIOS {
        parse_checked(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn mutated_scenarios_never_panic() {
    within(BATTERY_BUDGET, || {
        let mut rng = Rng(seed());
        let n = iterations(4_000);
        let (mut ok, mut refused) = (0, 0);
        for round in 0..n {
            let (name, original) = rng.pick(SCENARIOS);
            let mut text = (*original).to_owned();
            for _ in 0..=rng.below(4) {
                text = mutate(&mut rng, &text);
            }
            match parse_checked(&text, &format!("{name} round {round} (seed {})", seed())) {
                Ok(()) => ok += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("mutated scenarios: {ok} read, {refused} refused, none panicked");
        assert!(refused > 0 && ok > 0, "the mutations should do both");
    });
}

#[test]
fn arbitrary_text_never_panics() {
    within(BATTERY_BUDGET, || {
        let mut rng = Rng(seed() ^ 1);
        let alphabet: Vec<char> = "abc :-?[]{},&*!|>'\"#%@`\n\t \\0123456789.~<=ø🦀\u{0}\u{feff}"
            .chars()
            .collect();
        for round in 0..iterations(3_000) {
            let len = rng.below(120);
            let text: String = (0..len)
                .map(|_| {
                    if rng.chance(90) {
                        *rng.pick(&alphabet)
                    } else {
                        char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('?')
                    }
                })
                .collect();
            let _ = parse_checked(&text, &format!("text round {round}"));
        }
    });
}

/// The YAML bombs: nesting past the parser's depth limit, alias expansion, document storms,
/// one huge scalar, a huge flat list. Each is refused (or read) quickly, without a stack
/// overflow.
#[test]
fn yaml_bombs_are_defused() {
    within(BATTERY_BUDGET, || {
        let mut laughs = String::from("name: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..12 {
            let prev = i - 1;
            laughs.push_str(&format!(
                "l{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        laughs.push_str("kind: api\n");
        let mut block_nesting = String::from("name: x\nkind: api\nrequirements:\n");
        for depth in 0..2_000 {
            block_nesting.push_str(&" ".repeat(depth + 2));
            block_nesting.push_str("- \n");
        }
        let bombs = [
            (
                "flow nesting",
                format!("name: {}\nkind: api\n", "[".repeat(10_000)),
            ),
            (
                "map nesting",
                format!("name: x\nkind: api\nsts: {}", "{a: ".repeat(10_000)),
            ),
            ("block nesting", block_nesting),
            ("billion laughs", laughs),
            (
                "alias storm",
                format!(
                    "name: x\nkind: api\napi:\n  audience: a\n  scopes: [&s a/s{}]\n",
                    ", *s".repeat(100_000)
                ),
            ),
            ("document storm", "---\n".repeat(100_000)),
            (
                "huge scalar",
                format!("name: {}\nkind: api\n", "x".repeat(2 * 1024 * 1024)),
            ),
            (
                "huge list",
                format!(
                    "name: x\nkind: api\napi:\n  audience: a\n  scopes: [{}]\n",
                    vec!["a/s"; 50_000].join(", ")
                ),
            ),
            ("many keys", {
                let mut t = String::from("name: x\nkind: api\n");
                for i in 0..20_000 {
                    t.push_str(&format!("k{i}: v\n"));
                }
                t
            }),
            ("long line", format!("name: x{}", " ".repeat(1_000_000))),
        ];
        for (what, text) in &bombs {
            let start = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| scenario::parse(text, "bomb.yaml")));
            let took = start.elapsed();
            assert!(result.is_ok(), "{what}: the scenario reader panicked");
            eprintln!(
                "{what}: {} in {took:?}",
                match result.unwrap() {
                    Ok(_) => "read".to_owned(),
                    Err(e) => format!("refused ({})", first_chars(&e.to_string(), 80)),
                }
            );
            assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        }
    });
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The helpers the scenario checks use on users' values, with anything.
#[test]
fn scenario_value_checks_are_total() {
    let mut rng = Rng(seed() ^ 2);
    for _ in 0..iterations(3_000) {
        let a = rng.pick(VALUES);
        let b: String = (0..rng.below(20))
            .map(|_| char::from_u32(rng.next() as u32 % 0x3000).unwrap_or('?'))
            .collect();
        for s in [*a, b.as_str()] {
            let _ = scenario::personal_number(s);
            let _ = scenario::idp_issuer("idp.issuer", s);
            let _ = scenario::idp_issuer("idp.issuer", &format!("https://{s}"));
        }
    }
}
