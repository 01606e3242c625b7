#!/usr/bin/env bash
# The queue's overhead: the same run through 1, 2 and 3 local
# `fanout worker --nats` processes and on the in-process async executor,
# with the same total -c (split between the workers).
#
#   scripts/queue-bench.sh                              # 10,000 synthetic hosts, sleep 0ms
#   SIM=10000 scripts/queue-bench.sh                    # 10,000 simulated devices, exec 'show version'
#   SIM=10000 LAT=50ms C=500 REPEAT=3 scripts/queue-bench.sh
#
# Prints, per setup and repeat: wall time, hosts/s, the submitter's and
# the workers' CPU (user+sys), CPU per host and peak RSS (submitter; the
# largest worker). Needs nats-server and a release build (cargo build
# --release; BIN=path overrides target/release/fanout). Everything
# listens on 127.0.0.1 only; every process started is stopped.
set -euo pipefail
BIN=${BIN:-target/release/fanout}
N=${N:-10000}
C=${C:-300}
SIM=${SIM:-}
LAT=${LAT:-0ms}
REPEAT=${REPEAT:-1}
WORKERS=${WORKERS:-1 2 3}
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# 10,000 devices listen on 10,000 sockets.
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
nats=$!
pids+=($nats)
url="nats://127.0.0.1:$port"
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done

if [[ -n "$SIM" ]]; then
    N=$SIM
    "$BIN" sim serve -n "$SIM" --base-port 20000 --latency "$LAT" --inventory-out "$tmp/fleet.yaml" >"$tmp/sim.log" 2>&1 &
    pids+=($!)
    until [[ -s "$tmp/fleet.yaml" ]]; do sleep 0.2; done
    hosts=(-i "$tmp/fleet.yaml")
    task=(exec 'show version')
else
    hosts=(--synthetic "$N")
    task=(sleep "$LAT")
fi

echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); N=$N C=$C (total) LAT=$LAT; $(nats-server --version)"
printf '%-8s %3s %8s %9s %11s %11s %12s %10s %10s\n' setup rep wall_s hosts/s submit_cpu worker_cpu cpu_us/host sub_rss_MiB wrk_rss_MiB
report() { # name rep wall submit_cpu worker_cpu sub_rss_kib wrk_rss_kib
    awk -v n="$N" -v name="$1" -v rep="$2" -v wall="$3" -v s="$4" -v w="$5" -v sr="$6" -v wr="$7" 'BEGIN {
        printf "%-8s %3d %8.2f %9.0f %11.2f %11.2f %12.0f %10.0f %10.0f\n", name, rep, wall, n / wall, s, w, (s + w) / n * 1e6, sr / 1024, wr / 1024 }'
}
check_ok() { # setup
    local ok
    ok=$(grep -c '"status":"ok"' "$tmp/out" || true)
    [[ "$ok" == "$N" ]] || echo "warning: $ok of $N hosts ok ($1)" >&2
}

for rep in $(seq "$REPEAT"); do
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$BIN" run "${hosts[@]}" -e async -c "$C" --format jsonl "${task[@]}" >"$tmp/out" || true
    read -r wall u s rss <"$tmp/t"
    check_ok async
    report async "$rep" "$wall" "$(echo "$u + $s" | bc)" 0 "$rss" 0

    for workers in $WORKERS; do
        wpids=()
        for i in $(seq "$workers"); do
            # The total -c split between the workers.
            wc=$(( C / workers + (i <= C % workers ? 1 : 0) ))
            "$BIN" worker --nats "$url" "${hosts[@]}" -c "$wc" >>"$tmp/worker.log" 2>&1 &
            wpids+=($!)
            pids+=($!)
        done
        sleep 1
        before=0
        for p in "${wpids[@]}"; do before=$((before + $(ticks "$p"))); done
        nats_before=$(ticks "$nats")
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$BIN" run --queue "$url" "${hosts[@]}" --format jsonl "${task[@]}" >"$tmp/out" || true
        after=0
        wrss=0
        for p in "${wpids[@]}"; do
            after=$((after + $(ticks "$p")))
            r=$(hwm_kib "$p")
            (( r > wrss )) && wrss=$r
        done
        nats_after=$(ticks "$nats")
        read -r wall u s rss <"$tmp/t"
        check_ok "queue-$workers"
        report "queue-$workers" "$rep" "$wall" "$(echo "$u + $s" | bc)" "$(echo "($after - $before) / $hz" | bc -l)" "$rss" "$wrss"
        echo "#   nats-server CPU: $(echo "($nats_after - $nats_before) / $hz" | bc -l | xargs printf '%.2f') s"
        for p in "${wpids[@]}"; do kill -INT "$p"; wait "$p" 2>/dev/null || true; done
    done
done
