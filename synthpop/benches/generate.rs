//! `cargo bench -p synthpop`: persons generated per second, without and with JSON
//! serialisation, on one core. Prints the median of several runs (the machines are noisy).
//! The end-to-end figure (all cores, writing a file) is `bench/synthpop_bench.py`.

use std::hint::black_box;
use std::time::Instant;

use synthpop::Population;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let count: u64 = std::env::var("SYNTHPOP_BENCH_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let runs = 7;
    let pop = Population::new(1, count).unwrap_or_else(|e| panic!("{e}"));

    let generate: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for person in pop.persons() {
                black_box(person);
            }
            start.elapsed().as_secs_f64()
        })
        .collect();

    let mut bytes = 0usize;
    let serialise: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let mut buf = Vec::with_capacity(1 << 20);
            for person in pop.persons() {
                buf.clear();
                serde_json::to_writer(&mut buf, &person).unwrap_or_default();
                bytes += buf.len();
            }
            start.elapsed().as_secs_f64()
        })
        .collect();

    let lookups: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for i in (0..count).step_by(97) {
                if let Some(p) = pop.person(i) {
                    black_box(pop.by_pid(p.pid.as_str()));
                }
            }
            start.elapsed().as_secs_f64()
        })
        .collect();

    let g = median(generate);
    let s = median(serialise);
    let l = median(lookups);
    println!("persons: {count}, runs: {runs}, one core");
    println!(
        "generate only:      {g:.3} s median ({:.0} persons/s)",
        count as f64 / g
    );
    println!(
        "generate + JSON:    {s:.3} s median ({:.0} persons/s, {:.0} bytes/person)",
        count as f64 / s,
        bytes as f64 / (runs as f64 * count as f64)
    );
    println!(
        "person(i) + by_pid: {:.1} µs median per pair",
        l * 1e6 / (count / 97) as f64
    );
}
