//! `--group similar` on outputs shaped like the simulator's: per-device
//! host name, uptime, serial number, clock and addresses.

use fanout_report::{Reporter, SimilarTableReporter, group_similar};

use crate::{ok, summary};

/// The simulator's IOS `show version`, with what differs between devices.
fn ios_version(host: &str, weeks: u32, serial: &str) -> String {
    format!(
        "Cisco IOS Software, Linux Software (I86BI_LINUX-ADVENTERPRISEK9-M), Version 15.4(2)T4, DEVELOPMENT TEST SOFTWARE\n\
         ROM: Bootstrap program is Linux\n\n\
         {host} uptime is {weeks} week{}, 2 days, 3 hours, 4 minutes\n\
         System image file is \"unix:i86bi-linux-l3-adventerprisek9-15.4.2T4.bin\"\n\
         Processor board ID {serial}\n\
         Configuration register is 0x0\n",
        if weeks == 1 { "" } else { "s" }
    )
}

fn ios_brief(lo: &str, e0: &str, e2_state: &str) -> String {
    format!(
        "Interface                  IP-Address      OK? Method Status                Protocol\n\
         Loopback0                  {lo:<15} YES NVRAM  up                    up\n\
         Ethernet0/0                {e0:<15} YES NVRAM  up                    up\n\
         Ethernet0/2                unassigned      YES unset  {e2_state:<21} down\n"
    )
}

#[test]
fn show_version_differing_in_name_uptime_and_serial_is_one_group() {
    let outcomes = [
        ok("r1", "show version", &ios_version("r1", 1, "67109072")),
        ok("r2", "show version", &ios_version("r2", 3, "67109073")),
        ok("r3", "show version", &ios_version("r3", 1, "67109074")),
        ok("r7", "show version", &ios_version("r7", 1, "67109072")),
        // Another software version is another group? No: numbers are
        // masked, so it joins, with the version marked as varying.
        ok(
            "r9",
            "show version",
            &ios_version("r9", 1, "67109072").replace("15.4(2)T4,", "15.5(1)T1,"),
        ),
        ok("sw1", "show version", "Arista vEOS-lab\nUptime: 1 week\n"),
    ];
    let groups = group_similar(&outcomes);
    assert_eq!(groups.len(), 2, "{groups:#?}");
    assert_eq!(groups[0].hosts, ["r1", "r2", "r3", "r7", "r9"]);
    assert_eq!(groups[1].hosts, ["sw1"]);
    let marked = groups[0].marked();
    assert!(
        marked.contains("«r1» uptime is «1 week», 2 days, 3 hours, 4 minutes"),
        "{marked}"
    );
    assert!(marked.contains("Processor board ID «67109072»"), "{marked}");
    // Only the parts that differ: 15 is the same on every host.
    assert!(marked.contains("Version 15.«4»(«2»)«T4»,"), "{marked}");
    // Fields equal on every host are shown as they are.
    assert!(marked.contains("2 days, 3 hours"), "{marked}");
    assert!(
        marked.contains("\"unix:i86bi-linux-l3-adventerprisek9-15.4.2T4.bin\""),
        "{marked}"
    );
    assert!(marked.contains("register is 0x0"), "{marked}");
    assert_eq!(groups[0].varying.len(), 6, "{marked}");
    assert!(groups[1].varying.is_empty());
}

#[test]
fn addresses_fold_but_a_changed_state_does_not() {
    let outcomes = [
        ok(
            "r1",
            "b",
            &ios_brief("203.0.113.1", "192.0.2.1", "administratively down"),
        ),
        ok(
            "r2",
            "b",
            &ios_brief("203.0.113.2", "192.0.2.5", "administratively down"),
        ),
        ok("r3", "b", &ios_brief("203.0.113.3", "192.0.2.9", "up")),
    ];
    let groups = group_similar(&outcomes);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].hosts, ["r1", "r2"]);
    let marked = groups[0].marked();
    assert!(
        marked.contains("Loopback0                  «203.0.113.1»"),
        "{marked}"
    );
    assert!(
        marked.contains("Ethernet0/0                «192.0.2.1»"),
        "{marked}"
    );
    // Interface numbers are the same on both: not marked.
    assert!(marked.contains("\nEthernet0/2 "), "{marked}");
    assert_eq!(groups[1].hosts, ["r3"]);
}

#[test]
fn identical_outputs_group_with_nothing_marked() {
    let groups = group_similar(&[ok("a1", "c", "same 1\n"), ok("a2", "c", "same 1\n")]);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].marked(), "same 1\n");
}

#[test]
fn the_similar_table_folds_names_and_says_what_is_marked() {
    let mut buf = Vec::new();
    {
        let mut t = SimilarTableReporter::new(Box::new(&mut buf));
        for (h, w) in [("r1", 1), ("r2", 2), ("r3", 1)] {
            t.host(&ok(h, "show version", &ios_version(h, w, "67109072")))
                .unwrap();
        }
        t.host(&ok("x", "c", "")).unwrap();
        t.finish(&summary()).unwrap();
    }
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("ok ") && lines[0].contains("r1"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("ok ") && lines[3].contains(" x "),
        "{text}"
    );
    assert!(
        text.contains("\nr[1-3] (3): similar, 2 fields vary «marked»\n"),
        "{text}"
    );
    assert!(text.contains("«r1» uptime is «1 week»,"), "{text}");
    assert!(lines.last().unwrap().starts_with("0 hosts:"), "{text}");
}
