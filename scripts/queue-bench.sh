#!/usr/bin/env bash
# The queue's overhead: the same run through 1, 2 and 3 local
# `fanout worker --nats` processes and on the in-process async executor.
#
#   scripts/queue-bench.sh                    # 10,000 synthetic hosts, sleep 0ms
#   SIM=1000 scripts/queue-bench.sh           # 1,000 simulated devices, exec 'show version'
#
# Prints, per setup: wall time, hosts/s, the submitter's and the workers'
# CPU (user+sys) and CPU per host. Needs nats-server and a release build
# (cargo build --release; BIN=path overrides target/release/fanout).
# Everything listens on 127.0.0.1 only; every process started is stopped.
set -euo pipefail
BIN=${BIN:-target/release/fanout}
N=${N:-10000}
C=${C:-100}
SIM=${SIM:-}
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
pids+=($!)
url="nats://127.0.0.1:$port"
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done

if [[ -n "$SIM" ]]; then
    N=$SIM
    "$BIN" sim serve -n "$SIM" --inventory-out "$tmp/fleet.yaml" >"$tmp/sim.log" 2>&1 &
    pids+=($!)
    until [[ -s "$tmp/fleet.yaml" ]]; do sleep 0.2; done
    hosts=(-i "$tmp/fleet.yaml")
    task=(exec 'show version')
else
    hosts=(--synthetic "$N")
    task=(sleep 0ms)
fi

printf '%-10s %8s %10s %14s %12s %14s\n' setup wall_s hosts/s submit_cpu_s worker_cpu_s cpu_us/host
report() { # name wall submit_cpu worker_cpu
    awk -v n="$N" -v name="$1" -v wall="$2" -v s="$3" -v w="$4" 'BEGIN {
        printf "%-10s %8.2f %10.0f %14.2f %12.2f %14.0f\n", name, wall, n / wall, s, w, (s + w) / n * 1e6 }'
}

/usr/bin/time -f '%e %U %S' -o "$tmp/t" "$BIN" run "${hosts[@]}" -e async -c "$C" --format jsonl "${task[@]}" >"$tmp/out" || true
read -r wall u s <"$tmp/t"
report async "$wall" "$(echo "$u + $s" | bc)" 0

for workers in 1 2 3; do
    wpids=()
    for _ in $(seq "$workers"); do
        "$BIN" worker --nats "$url" "${hosts[@]}" -c "$C" >>"$tmp/worker.log" 2>&1 &
        wpids+=($!)
        pids+=($!)
    done
    sleep 1
    before=0
    for p in "${wpids[@]}"; do before=$((before + $(ticks "$p"))); done
    /usr/bin/time -f '%e %U %S' -o "$tmp/t" "$BIN" run --queue "$url" "${hosts[@]}" --format jsonl "${task[@]}" >"$tmp/out" || true
    after=0
    for p in "${wpids[@]}"; do after=$((after + $(ticks "$p"))); done
    read -r wall u s <"$tmp/t"
    ok=$(grep -c '"status":"ok"' "$tmp/out" || true)
    [[ "$ok" == "$N" ]] || echo "warning: $ok of $N hosts ok with $workers workers" >&2
    report "queue-$workers" "$wall" "$(echo "$u + $s" | bc)" "$(echo "($after - $before) / $hz" | bc -l)"
    for p in "${wpids[@]}"; do kill -INT "$p"; wait "$p" 2>/dev/null || true; done
done
