//! How long loading N hosts takes, per format (in-process, this build):
//! `cargo run --release -p fanout-inventory --example load_time -- 100000`.
//! Writes the generated inventories to a temporary directory, or to DIR
//! when given as the second argument (to time `fanout inventory check -i`
//! on the same files).

#[path = "../tests/it/generate.rs"]
mod generate;

use std::time::Instant;

use fanout_inventory::LoadOptions;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let keep = args.next();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = keep.map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the output directory");
    let env = |v: &str| (v == "LAB_PW").then(|| "pw".to_string());
    for format in ["fanout", "nornir", "ansible-yaml", "ansible-ini", "netbox"] {
        let path = generate::write(format, n, &dir);
        let bytes: u64 = if path.is_dir() {
            std::fs::read_dir(&path)
                .map(|d| {
                    d.filter_map(|e| e.ok()?.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0)
        } else {
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        };
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            let inv = fanout_inventory::load_with(&path, &LoadOptions::default(), &env)
                .unwrap_or_else(|e| panic!("{format}: {e}"));
            best = best.min(start.elapsed().as_secs_f64());
            assert_eq!(inv.targets.len(), n);
        }
        println!(
            "{format:<13} {n} hosts, {:>6.1} MB: {:>7.3} s (best of 3) {}",
            bytes as f64 / 1e6,
            best,
            path.display()
        );
    }
}
