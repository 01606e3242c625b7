use std::hint::black_box;

use crate::{Field, Target};

/// The CPU work of a [`Task::Cpu`](crate::Task::Cpu): `iterations` rounds of
/// a 64-bit multiply-xorshift hash chain, each depending on the last so the
/// compiler cannot fold or vectorise it (about 1 ns per round on a current
/// x86 core). `keep_going` is polled every 2^16 rounds; when it returns
/// `false` the loop stops and `None` is returned. Every executor calls this
/// function, so the same `cpu N` is the same work everywhere.
pub fn cpu_burn(iterations: u64, mut keep_going: impl FnMut() -> bool) -> Option<u64> {
    const CHUNK: u64 = 1 << 16;
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    let mut done = 0;
    while done < iterations {
        let end = (done + CHUNK).min(iterations);
        for i in done..end {
            state ^= i;
            state = state.wrapping_mul(0x0000_0100_0000_01b3);
            state ^= state >> 29;
        }
        state = black_box(state);
        done = end;
        if done < iterations && !keep_going() {
            return None;
        }
    }
    Some(state)
}

/// Replaces `{host}` (address), `{name}`, `{port}`, `{platform}`,
/// `{user}` and `{vars.KEY}` (when the host has it) in one argument of a
/// local command. `{{` and `}}` are literal
/// braces; any other brace, including an unknown placeholder such as the
/// braces of a shell function, is kept as it is.
pub fn render_template(arg: &str, target: &Target) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let key = tail
            .strip_prefix('{')
            .and_then(|t| t.split_once('}'))
            .map(|(key, _)| key);
        // The placeholders of command templates; here a missing platform
        // or user is empty, and a missing variable is left as written.
        let value = key.and_then(Field::from_key).and_then(|f| match f {
            Field::Platform | Field::User => Some(f.value(target).unwrap_or_default()),
            f => f.value(target),
        });
        match (key, value) {
            (Some(key), Some(value)) => {
                out.push_str(&value);
                rest = &tail[key.len() + 2..];
            }
            // Not a placeholder: keep this brace, rescan from the next char.
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_burn_is_deterministic_and_stoppable() {
        let a = cpu_burn(200_000, || true);
        assert_eq!(a, cpu_burn(200_000, || true));
        assert_ne!(a, cpu_burn(200_001, || true));
        assert_eq!(cpu_burn(1 << 20, || false), None);
        assert!(cpu_burn(0, || false).is_some());
    }

    #[test]
    fn templates() {
        let mut t = Target::new("r1", "127.0.0.9");
        t.port = 2201;
        assert_eq!(render_template("{host}:{port}", &t), "127.0.0.9:2201");
        assert_eq!(
            render_template("name={name} {{x}} {other}", &t),
            "name=r1 {x} {other}"
        );
        assert_eq!(render_template("}{", &t), "}{");
        assert_eq!(
            render_template("f() { echo {name}; }; f", &t),
            "f() { echo r1; }; f"
        );
        assert_eq!(render_template("{a{host}}", &t), "{a127.0.0.9}");
        t.vars.insert("site".into(), "lon".into());
        assert_eq!(
            render_template("{vars.site} {vars.none}", &t),
            "lon {vars.none}"
        );
    }
}
