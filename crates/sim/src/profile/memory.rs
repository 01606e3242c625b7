//! Memory commands: `show memory statistics` and `show processes memory`
//! (IOS, IOS-XE; NX-OS has `show processes memory`). Figures are per device
//! (seeded by its place in the fleet), grow with its interface count, and
//! agree between the two commands: the processor pool's `Used` is the sum of
//! what the processes hold.

use fanout_core::Platform;

use crate::console::DeviceConfig;
use crate::faults::SplitMix;

/// `(process, holding bytes)` of a freshly booted IOS box.
const IOS_PROCS: &[(&str, u64)] = &[
    ("*Init*", 49_874_344),
    ("*Sched*", 12_104),
    ("*Dead*", 403_504),
    ("*MallocLite*", 225_840),
    ("Chunk Manager", 292_216),
    ("Load Meter", 2_264),
    ("Check heaps", 26_968),
    ("Pool Manager", 8_904),
    ("Timers", 25_680),
    ("ARP Input", 12_912),
    ("CDP Protocol", 10_728),
    ("IP Input", 27_416),
    ("SSH Process", 63_528),
    ("OSPF-1 Router", 54_376),
    ("Exec", 9_952),
];

/// `(pid, process, bytes used)` of an NX-OS box.
const NX_PROCS: &[(u32, &str, u64)] = &[
    (1, "init", 2_478_080),
    (3631, "sysmgr", 41_762_816),
    (3760, "syslogd", 6_393_856),
    (4012, "ascii-cfg", 51_703_808),
    (4105, "cdp", 9_056_256),
    (4110, "lldp", 8_212_480),
    (4233, "arp", 22_491_136),
    (4301, "ethpm", 30_937_088),
    (4417, "ospf", 28_844_032),
    (4498, "vshd", 19_243_008),
];

/// Per-process holdings of this device: the table's figures, nudged by up
/// to ±12 % per device and process, plus 12 KiB per interface for `*Init*`.
fn holdings(cfg: &DeviceConfig, index: u32) -> Vec<(&'static str, u64)> {
    let mut rng = SplitMix(0x6d65_6d00 ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    IOS_PROCS
        .iter()
        .enumerate()
        .map(|(k, &(name, base))| {
            let nudge = 0.88 + 0.24 * rng.unit();
            let mut held = (base as f64 * nudge) as u64;
            if k == 0 {
                held += 12_288 * cfg.interfaces.len() as u64;
            }
            (name, held)
        })
        .collect()
}

/// `(name, total, used)` of the pools.
fn pools(p: Platform, used: u64) -> [(&'static str, u64, u64); 2] {
    match p {
        Platform::Iosxe => [
            ("Processor", 1_863_306_240, used * 4),
            ("lsmpi_io", 6_295_128, 6_294_304),
        ],
        _ => [
            ("Processor", 346_437_616, used),
            ("I/O", 6_294_528, 4_376_256),
        ],
    }
}

/// `show memory statistics` (IOS, IOS-XE).
pub(crate) fn memory_statistics(p: Platform, cfg: &DeviceConfig, index: u32) -> Vec<String> {
    let used: u64 = holdings(cfg, index).iter().map(|h| h.1).sum();
    let heads = ["7F3A8E1C5010", "7F3A8F3C5010"];
    let mut out = vec![
        "                Head    Total(b)     Used(b)     Free(b)   Lowest(b)  Largest(b)"
            .to_string(),
    ];
    for ((name, total, used), head) in pools(p, used).into_iter().zip(heads) {
        let free = total - used;
        out.push(format!(
            "{name:>9} {head:>12} {total:>11} {used:>11} {free:>11} {:>11} {:>11}",
            free - free / 200,
            free - free / 1000
        ));
    }
    out
}

/// `show processes memory` (IOS, IOS-XE, NX-OS).
pub(crate) fn processes_memory(p: Platform, cfg: &DeviceConfig, index: u32) -> Vec<String> {
    if p == Platform::Nxos {
        let mut out = vec![
            "PID    MemAlloc  MemLimit    MemUsed     StackBase/Ptr      Process".to_string(),
            "-----  --------  ----------  ----------  -----------------  ----------------".into(),
        ];
        let mut rng = SplitMix(0x6e78_6d00 ^ u64::from(index));
        for &(pid, name, base) in NX_PROCS {
            let used = (base as f64 * (0.9 + 0.2 * rng.unit())) as u64 / 4096 * 4096;
            out.push(format!(
                "{pid:>5}  {:>8}  0           {used:<10}  bffffe50/bffff5e0  {name}",
                used / 16
            ));
        }
        return out;
    }
    let held = holdings(cfg, index);
    let used: u64 = held.iter().map(|h| h.1).sum();
    let mut out = Vec::new();
    for (name, total, used) in pools(p, used) {
        out.push(format!(
            "{:>9} Pool Total: {total:>10} Used: {used:>10} Free: {:>10}",
            name,
            total - used
        ));
    }
    out.push(String::new());
    out.push(" PID TTY  Allocated      Freed    Holding    Getbufs    Retbufs Process".into());
    for (pid, (name, holding)) in held.iter().enumerate() {
        let pid = pid.saturating_sub(3);
        let allocated = holding + holding / 4;
        out.push(format!(
            "{pid:>4} {:>3} {allocated:>10} {:>10} {holding:>10} {:>10} {:>10} {name}",
            0,
            allocated - holding,
            0,
            0
        ));
    }
    out.push(format!("{used:>41} Total"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number_after(line: &str, key: &str) -> u64 {
        let rest = &line[line.find(key).unwrap() + key.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    }

    #[test]
    fn both_commands_agree_and_differ_per_device() {
        let mut cfg = DeviceConfig::new("r1");
        crate::profile::seed(Platform::Ios, &mut cfg);
        let stats = memory_statistics(Platform::Ios, &cfg, 3);
        let procs = processes_memory(Platform::Ios, &cfg, 3);
        let used_stats: u64 = stats[1].split_whitespace().nth(3).unwrap().parse().unwrap();
        assert_eq!(
            number_after(&procs[0], "Used:"),
            used_stats,
            "{stats:?}\n{procs:?}"
        );
        let total: u64 = procs
            .last()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(total, used_stats);
        assert_ne!(memory_statistics(Platform::Ios, &cfg, 4), stats);
        assert_eq!(memory_statistics(Platform::Ios, &cfg, 3), stats);
        assert!(processes_memory(Platform::Nxos, &cfg, 3)[0].starts_with("PID"));
    }
}
