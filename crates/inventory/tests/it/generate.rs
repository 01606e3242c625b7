//! Large inventories of every format, generated for the scale tests and the
//! `load_time` example: `n` hosts in 20 groups, addresses on 127.0.0.0/8.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The address of host `i`.
pub(crate) fn address(i: usize) -> String {
    format!(
        "127.{}.{}.{}",
        (i >> 16) & 255,
        (i >> 8) & 255,
        (i & 255).max(1)
    )
}

/// Writes `n` hosts in `format` (fanout, nornir, ansible-yaml, ansible-ini,
/// netbox) under `dir`; returns the path to load.
pub(crate) fn write(format: &str, n: usize, dir: &Path) -> PathBuf {
    let mut s = String::with_capacity(n * 120);
    let path = match format {
        "fanout" => {
            s.push_str(
                "defaults: {username: admin, password: \"${LAB_PW}\", platform: ios}\ngroups:\n",
            );
            for g in 0..20 {
                writeln!(s, "  g{g}: {{vars: {{role: r{g}}}}}").unwrap();
            }
            s.push_str("hosts:\n");
            for i in 0..n {
                writeln!(
                    s,
                    "  r{i}: {{hostname: {}, port: {}, groups: [g{}], vars: {{site: s{}, rack: \"{}\"}}}}",
                    address(i),
                    2200 + i % 1000,
                    i % 20,
                    i % 7,
                    i % 40
                )
                .unwrap();
            }
            dir.join("fanout.yaml")
        }
        "nornir" => {
            let d = dir.join("nornir");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("defaults.yaml"),
                "username: admin\npassword: \"${LAB_PW}\"\nplatform: ios\n",
            )
            .unwrap();
            let mut groups = String::new();
            for g in 0..20 {
                writeln!(groups, "g{g}:\n  data: {{role: r{g}}}").unwrap();
            }
            std::fs::write(d.join("groups.yaml"), groups).unwrap();
            for i in 0..n {
                writeln!(
                    s,
                    "r{i}:\n  hostname: {}\n  port: {}\n  groups: [g{}]\n  data:\n    site: s{}\n    rack: \"{}\"",
                    address(i),
                    2200 + i % 1000,
                    i % 20,
                    i % 7,
                    i % 40
                )
                .unwrap();
            }
            std::fs::write(d.join("hosts.yaml"), &s).unwrap();
            return d;
        }
        "ansible-yaml" => {
            s.push_str("all:\n  vars: {ansible_user: admin, ansible_password: \"{{ lookup('env', 'LAB_PW') }}\", ansible_network_os: cisco.ios.ios}\n  children:\n");
            let per = n.div_ceil(20).max(1);
            for g in 0..20 {
                writeln!(s, "    g{g}:\n      vars: {{role: r{g}}}\n      hosts:").unwrap();
                for i in (g * per)..((g + 1) * per).min(n) {
                    writeln!(
                        s,
                        "        r{i}: {{ansible_host: {}, ansible_port: {}, site: s{}, rack: \"{}\"}}",
                        address(i),
                        2200 + i % 1000,
                        i % 7,
                        i % 40
                    )
                    .unwrap();
                }
            }
            dir.join("ansible.yaml")
        }
        "ansible-ini" => {
            let per = n.div_ceil(20).max(1);
            for g in 0..20 {
                writeln!(s, "[g{g}]").unwrap();
                for i in (g * per)..((g + 1) * per).min(n) {
                    writeln!(
                        s,
                        "r{i} ansible_host={} ansible_port={} site=s{} rack={}",
                        address(i),
                        2200 + i % 1000,
                        i % 7,
                        i % 40
                    )
                    .unwrap();
                }
                writeln!(s, "[g{g}:vars]\nrole=r{g}").unwrap();
            }
            s.push_str("[all:vars]\nansible_user=admin\nansible_password=\"{{ lookup('env', 'LAB_PW') }}\"\nansible_network_os=ios\n");
            dir.join("hosts.ini")
        }
        "netbox" => {
            writeln!(
                s,
                "{{\"count\": {n}, \"next\": null, \"previous\": null, \"results\": ["
            )
            .unwrap();
            for i in 0..n {
                let sep = if i + 1 == n { "" } else { "," };
                writeln!(
                    s,
                    "{{\"id\": {i}, \"url\": \"http://netbox.invalid/api/dcim/devices/{i}/\", \"display\": \"r{i}\", \"name\": \"r{i}\", \
                     \"device_type\": {{\"id\": 1, \"model\": \"ISR4331\", \"slug\": \"isr4331\"}}, \
                     \"role\": {{\"id\": {g}, \"name\": \"G{g}\", \"slug\": \"g{g}\"}}, \"tenant\": null, \
                     \"platform\": {{\"id\": 1, \"name\": \"Cisco IOS\", \"slug\": \"cisco-ios\"}}, \
                     \"site\": {{\"id\": {site}, \"name\": \"S{site}\", \"slug\": \"s{site}\"}}, \
                     \"status\": {{\"value\": \"active\", \"label\": \"Active\"}}, \
                     \"primary_ip\": {{\"id\": {i}, \"family\": 4, \"address\": \"{}/32\"}}, \
                     \"tags\": [{{\"id\": 1, \"name\": \"Lab\", \"slug\": \"lab\"}}], \"custom_fields\": {{}}}}{sep}",
                    address(i),
                    g = i % 20,
                    site = i % 7,
                )
                .unwrap();
            }
            s.push_str("]}\n");
            std::fs::write(
                dir.join("defaults.yaml"),
                "username: admin\npassword: \"${LAB_PW}\"\n",
            )
            .unwrap();
            dir.join("netbox.json")
        }
        other => panic!("no generator for {other}"),
    };
    std::fs::write(&path, &s).unwrap();
    path
}
