//! `-l FILTER`: terms, negation, OR within a filter, AND across filters.

use fanout_core::Target;
use fanout_inventory::{Filter, FilterError, select, select_from};

use super::{parse, y};

fn fleet() -> Vec<Target> {
    parse(&y("
        defaults: {platform: ios}
        groups:
          core: {platform: nxos, groups: [london]}
          edge: {}
          london: {vars: {site: lon}}
          paris: {vars: {site: par}}
        hosts:
          core1: {hostname: 127.0.0.11, groups: [core]}
          core2: {hostname: 127.0.0.12, groups: [core], vars: {rack: a1}}
          edge1: {hostname: 127.0.0.21, groups: [edge, london], vars: {rack: b7}}
          edge2: {hostname: 127.0.0.22, groups: [edge, paris], platform: cisco_xe}
          fw1: {hostname: 127.0.0.31, groups: [paris], platform: junos}
    "))
    .targets
}

/// Names selected by the given `-l` filters.
fn names(filters: &[&str]) -> Vec<String> {
    let filters: Vec<Filter> = filters
        .iter()
        .map(|f| Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    select(&fleet(), &filters)
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Moving the targets out selects the same hosts, whole and in order, as
/// copying them.
#[test]
fn select_from_moves_what_select_copies() {
    for filters in [
        &[][..],
        &["core*"][..],
        &["group:london", "!platform:nxos"][..],
        &["rack=*", "edge*,fw1"][..],
        &["nothing"][..],
    ] {
        let filters: Vec<Filter> = filters.iter().map(|f| Filter::parse(f).unwrap()).collect();
        let copied = select(&fleet(), &filters);
        let moved = select_from(fleet(), &filters);
        assert_eq!(format!("{copied:?}"), format!("{moved:?}"), "{filters:?}");
    }
    assert_eq!(select_from(fleet(), &[]).len(), 5);
}

#[test]
fn name_globs() {
    assert_eq!(names(&["core1"]), ["core1"]);
    assert_eq!(names(&["core*"]), ["core1", "core2"]);
    assert_eq!(names(&["*1"]), ["core1", "edge1", "fw1"]);
    assert_eq!(names(&["edge?"]), ["edge1", "edge2"]);
    assert_eq!(names(&["?????"]), ["core1", "core2", "edge1", "edge2"]);
    assert_eq!(names(&["[cf]*1"]), ["core1", "fw1"]);
    assert_eq!(names(&["*[!1]"]), ["core2", "edge2"]);
    assert_eq!(names(&["core[1-2]"]), ["core1", "core2"]);
    assert_eq!(names(&["name:fw*"]), ["fw1"]);
    assert_eq!(names(&["Core1"]), Vec::<String>::new(), "case-sensitive");
    assert_eq!(names(&["*"]).len(), 5);
    assert_eq!(names(&[]).len(), 5, "no filter selects everything");
}

#[test]
fn groups_include_inherited_ancestors() {
    assert_eq!(names(&["group:core"]), ["core1", "core2"]);
    assert_eq!(names(&["group:london"]), ["core1", "core2", "edge1"]);
    assert_eq!(names(&["group:pa*"]), ["edge2", "fw1"]);
}

#[test]
fn platforms_accept_aliases() {
    assert_eq!(names(&["platform:nxos"]), ["core1", "core2"]);
    assert_eq!(names(&["platform:cisco_nxos"]), ["core1", "core2"]);
    assert_eq!(names(&["platform:ios"]), ["edge1"]);
    assert_eq!(names(&["platform:cisco_ios"]), ["edge1"]);
    assert_eq!(names(&["platform:iosxe"]), ["edge2"]);
    assert_eq!(names(&["platform:JUNIPER"]), ["fw1"]);
}

#[test]
fn vars_match_a_glob() {
    assert_eq!(names(&["site=lon"]), ["core1", "core2", "edge1"]);
    assert_eq!(names(&["rack=*"]), ["core2", "edge1"]);
    assert_eq!(names(&["rack=b?"]), ["edge1"]);
    assert_eq!(names(&["nosuchvar=*"]), Vec::<String>::new());
}

#[test]
fn negation() {
    assert_eq!(names(&["!group:core"]), ["edge1", "edge2", "fw1"]);
    assert_eq!(names(&["!site=lon"]), ["edge2", "fw1"]);
    assert_eq!(names(&["!*1"]), ["core2", "edge2"]);
    assert_eq!(names(&["!platform:junos"]).len(), 4);
}

#[test]
fn terms_or_and_filters_and() {
    assert_eq!(names(&["core1,fw1"]), ["core1", "fw1"]);
    assert_eq!(
        names(&["group:edge, platform:junos"]),
        ["edge1", "edge2", "fw1"]
    );
    assert_eq!(names(&["group:london", "!platform:nxos"]), ["edge1"]);
    assert_eq!(names(&["*1", "group:paris,group:core"]), ["core1", "fw1"]);
    assert_eq!(names(&["group:edge", "site=par", "edge*"]), ["edge2"]);
}

#[test]
fn filter_round_trips_and_parses_with_from_str() {
    let f: Filter = "group:core,!r1".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.to_string(), "group:core,!r1");
}

fn err(expr: &str) -> (FilterError, String) {
    match Filter::parse(expr) {
        Ok(f) => panic!("`{expr}` should not parse: {f:?}"),
        Err(e) => {
            let text = e.to_string();
            (e, text)
        }
    }
}

#[test]
fn empty_terms() {
    for expr in ["", "a,,b", "a,", ",a", "!", "a, ! ,b", " "] {
        let (e, text) = err(expr);
        assert!(matches!(e, FilterError::EmptyTerm { .. }), "{expr}: {e:?}");
        assert!(text.contains("remove the extra comma"), "{text}");
    }
}

#[test]
fn missing_values_and_keys() {
    let (e, text) = err("group:");
    assert!(matches!(e, FilterError::MissingValue { .. }), "{e:?}");
    assert!(
        text.contains("`group:` needs a value") && text.contains("group:core"),
        "{text}"
    );
    let (_, text) = err("platform:");
    assert!(text.contains("platform:ios"), "{text}");
    let (e, text) = err("=lon");
    assert!(matches!(e, FilterError::MissingKey { .. }), "{e:?}");
    assert!(text.contains("site=lon"), "{text}");
}

#[test]
fn unknown_platform_lists_names() {
    let (e, text) = err("platform:cisco_foo");
    assert!(matches!(e, FilterError::UnknownPlatform { .. }), "{e:?}");
    assert!(text.contains("unknown platform `cisco_foo`"), "{text}");
    assert!(text.contains("expected one of ios, iosxe"), "{text}");
}

#[test]
fn unknown_field_suggests_and_explains_colons() {
    let (e, text) = err("gruop:core");
    assert!(matches!(e, FilterError::UnknownField { .. }), "{e:?}");
    assert!(text.contains("did you mean `group`?"), "{text}");
    assert!(text.contains("write `name:gruop:core`"), "{text}");
    let (_, text) = err("fe80::1");
    assert!(text.contains("use name:, group: or platform:"), "{text}");
    assert!(Filter::parse("name:fe80::1").is_ok());
}

#[test]
fn unclosed_class() {
    let (e, text) = err("core[12");
    assert!(matches!(e, FilterError::BadPattern { .. }), "{e:?}");
    assert!(text.contains("`[` is not closed"), "{text}");
    assert!(Filter::parse("[[]x").is_ok());
    assert!(Filter::parse("[]]x").is_ok());
}
