#!/usr/bin/env bash
# Postern beside Postfix, one run on this machine (see bench/README.md: it reconfigures the local Postfix).
#   bench/run.sh            full run, 3 repetitions      REPS=1 bench/run.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3}
SINK_HOST=127.0.0.3 SINK_PORT=30025 PT_PORT=2525 PF_PORT=25
PY=/usr/bin/python3

need=()
command -v smtp-source >/dev/null || need+=(postfix)
[ -x /usr/sbin/postfix ] || need+=(postfix)
command -v bc >/dev/null || need+=(bc)
[ -x $PY ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-bench.XXXXXX); chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; postfix stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

# ---------------------------------------------------------------- the shared receiver
smtp-sink -c -u nobody "$SINK_HOST:$SINK_PORT" 2000 > "$work/sink.out" 2>&1 &
SINK_PID=$!; pids+=($SINK_PID)
sink_count() { tr '\r' '\n' < "$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || echo 0; }

# ---------------------------------------------------------------- Postern
. bench/tools/relay-config.sh
relay_config "$work/postern-data" "$PT_PORT" "$SINK_HOST" "$SINK_PORT" > "$work/postern.toml"
echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config "$work/postern.toml" >/dev/null
./postern serve --allow-root --config "$work/postern.toml" > "$work/postern.log" 2>&1 &
PT_PID=$!; pids+=($PT_PID)

# ---------------------------------------------------------------- Postfix, configured to match
. bench/tools/postfix-setup.sh

wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $PT_PORT; wait_port $PF_PORT
sleep 2; rss_start=$(awk '/VmRSS/{print $2}' /proc/$PT_PID/status)

# CPU seconds used so far by an MTA: Postern is one process; Postfix is master, its live children, and
# the children it has already reaped (cutime/cstime).
cpu_of() {
  if [ "$1" = postern ]; then awk '{print ($14+$15)/100}' /proc/$PT_PID/stat; return; fi
  local total=0 p
  total=$(awk '{print ($14+$15+$16+$17)/100}' /proc/$PF_MASTER/stat)
  for p in $(ps -o pid= --ppid "$PF_MASTER"); do
    [ -r /proc/$p/stat ] && total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/$p/stat 2>/dev/null || echo 0)" | bc -l)
  done
  echo "$total"
}
port_of() { [ "$1" = postern ] && echo $PT_PORT || echo $PF_PORT; }
maildir_count() {
  local d=/home/benchuser/Maildir/new
  [ "$1" = postern ] && d="$work/postern-data/mailboxes/bench.test/benchuser/Maildir/new"
  if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi
}

# CPU of this shell's finished children (bash's times, second line): noted to a file by the shell itself (in a
# command substitution, times would describe a subshell that has no children), read back in seconds
children_cpu() { times > "$work/times.$1"; }
children_secs() { awk 'NR==2{for(i=1;i<=2;i++){split($i,t,"m"); s+=t[1]*60+t[2]} print s}' "$work/times.$1"; }
sink_cpu() { awk '{print ($14+$15)/100}' /proc/$SINK_PID/stat; }

# One acceptance run: prints "accepted_msgs_per_s end_to_end_msgs_per_s cpu_ms_per_msg source_cpu_ms_per_msg
# sink_cpu_ms_per_msg": the last two are what the load generator itself costs, on the same two cores
run_once() { # mta clients size msgs destination(relay|local)
  local mta=$1 clients=$2 size=$3 msgs=$4 dest=$5 rcpt before target t0 t1 t2 c0 c1 n s0 s1 k0 k1
  if [ "$dest" = relay ]; then rcpt=user@sink.test; before=$(sink_count); else rcpt=benchuser@bench.test; before=$(maildir_count "$mta"); fi
  target=$((before + msgs))
  c0=$(cpu_of "$mta"); k0=$(sink_cpu); children_cpu 0; t0=$(date +%s.%N)
  smtp-source -s "$clients" -l "$size" -m "$msgs" -f bench@source.test -t "$rcpt" "127.0.0.1:$(port_of "$mta")"
  t1=$(date +%s.%N); children_cpu 1; s0=$(children_secs 0); s1=$(children_secs 1)
  for _ in $(seq 12000); do
    if [ "$dest" = relay ]; then n=$(sink_count); else n=$(maildir_count "$mta"); fi
    [ "$n" -ge "$target" ] && break; sleep 0.05
  done
  t2=$(date +%s.%N); sleep 0.5; c1=$(cpu_of "$mta"); k1=$(sink_cpu)
  echo "$(echo "$msgs / ($t1 - $t0)" | bc -l) $(echo "$msgs / ($t2 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $msgs" | bc -l)" \
    "$(echo "($s1 - $s0) * 1000 / $msgs" | bc -l) $(echo "($k1 - $k0) * 1000 / $msgs" | bc -l)"
}
stat3() { sort -g | awk 'NF{a[++n]=$1} END {if(n==0){print "-";exit} printf "%.*f (%.*f–%.*f)", d, a[int((n+1)/2)], d, a[1], d, a[n]}' d="${1:-0}"; }
med() { sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }

declare -A R
# One scenario, both MTAs: an untimed run of each, then their measured runs alternate (Postern, Postfix,
# Postern, ...), so that a slow minute of this shared machine falls on both and not on one MTA's figures.
scenario() { # key clients size msgs dest
  local key=$1; shift
  local mta a e c
  # one untimed run first: code paths the general warm-up did not take (one client's timing, a Maildir) are
  # compiled before the clock starts, and the short runs are less noisy
  for mta in postern postfix; do run_once "$mta" "$@" >/dev/null; done
  for _ in $(seq "$REPS"); do
    for mta in postern postfix; do
      read -r a e c src snk < <(run_once "$mta" "$@")
      R[$mta.$key.acc]+="$a"$'\n'; R[$mta.$key.e2e]+="$e"$'\n'; R[$mta.$key.cpu]+="$c"$'\n'
      R[$mta.$key.src]+="$src"$'\n'; R[$mta.$key.snk]+="$snk"$'\n'
    done
  done
  for mta in postern postfix; do
    echo "$mta.$key: accepted $(printf '%s' "${R[$mta.$key.acc]}" | stat3) msg/s, end-to-end $(printf '%s' "${R[$mta.$key.e2e]}" | stat3) msg/s, cpu $(printf '%s' "${R[$mta.$key.cpu]}" | stat3 3) ms/msg" >&2
  done
}

# An MTA runs for weeks: measure the JIT-compiled steady state. 3,000 messages, the old warm-up, left the
# compiler busy for tens of thousands more (its thread took a third of Postern's CPU in the measured runs).
echo "warming up the JVM" >&2
# In five parts with pauses longer than the outbound connection cache's 5 s, as between the measured runs (while
# Postfix's run): the first burst after a pause reconnects to the sink and wakes idle event loops, code paths a
# continuous warm-up never takes, and C2 recompiled them during the measured runs (JFR: 237 compilations, 2.0 s
# of compiler time over the next 30,000 messages; 122 and 0.7 s after a warm-up with pauses)
for _ in 1 2 3 4 5; do
  smtp-source -s 20 -m 6000 -l 1024 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
  sleep 6
done
smtp-source -s 20 -m 3000 -l 51200 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
# one client's shape too: its idle event loop between commands takes branches that twenty clients never do, and
# 500 untimed messages left C2 recompiling (deoptimized Netty paths) through the measured runs
smtp-source -s 1 -m 3000 -l 1024 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
smtp-source -s 1 -m 3000 -l 51200 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
# the Maildir path's own code: after the relay warm-up, C2 still spent 76 µs per message compiling it over the
# next 20,000 Maildir deliveries (1 to 10 µs after them); 3,000, the old figure, left that in the measured runs
smtp-source -s 20 -m 20000 -l 1024 -f warm@source.test -t benchuser@bench.test 127.0.0.1:$PT_PORT
# the latency client's shape, long enough for C2 to finish with it (after 10,000 it still took 1.2 s of compiler
# CPU during the next 12,000: bench/gc.sh, 2026-12-03)
java -cp target/postern.jar bench/tools/Latency.java --port $PT_PORT --clients 100 --messages 30000 >/dev/null
smtp-source -s 20 -m 200 -l 1024 -f warm@source.test -t user@sink.test 127.0.0.1:$PF_PORT
# the warm-up's deliveries must be over before anything is timed: a backlog would share the cores
drained() { local a b; a="$(sink_count) $(maildir_count postern)"; sleep 2; b="$(sink_count) $(maildir_count postern)"; [ "$a" = "$b" ]; }
for _ in $(seq 60); do drained && break; done

FSYNC=$($PY bench/tools/fsync_probe.py "$work" 3 | tr '\n' ' ')
for clients in 1 20 100; do
  for size in 1024 51200; do
    msgs=5000; [ $clients = 1 ] && msgs=2000; [ $size = 51200 ] && msgs=$((msgs / 2))
    scenario "relay.$clients.$size" "$clients" "$size" "$msgs" relay
  done
done
scenario "local.20.1024" 20 1024 5000 local
scenario "local.100.1024" 100 1024 5000 local

# a client in Java on one Netty event loop: the Python one took most of a core itself
# Each client as fast as it can (both MTAs saturated: the latency is mostly queueing for the two cores), then
# at an offered load both can carry (LOW_RATE msg/s over the 100 clients, about half of Postfix's rate here),
# then at HIGH_RATE, which only Postern carries.
LOW_RATE=${LOW_RATE:-300} HIGH_RATE=${HIGH_RATE:-2000}
# The client's first messages are not counted (--warmup): its own JVM is compiling then, on the same cores.
# It runs with C1 alone (CLIENT_JVM): with C2 too, a fresh client spent half of its 5 s of CPU per saturated
# run compiling (perf sched: 1.1-1.3 s of C2 in 2.5 s of the measured part), taken from both servers' cores.
CLIENT_JVM=${CLIENT_JVM:--XX:TieredStopAtLevel=1}
lat() { # mta rate messages
  java $CLIENT_JVM -cp target/postern.jar bench/tools/Latency.java --port "$(port_of "$1")" --clients 100 --messages "$3" --size 1024 --rate "$2" \
    --warmup $(($3 / 6))
}
for _ in $(seq "$REPS"); do
  for load in 0:lat:12000 "$LOW_RATE:low:6000" "$HIGH_RATE:high:12000"; do
    IFS=: read -r rate key msgs <<< "$load"
    for mta in postern postfix; do
      [ "$key" = high ] && [ "$mta" = postfix ] && continue
      for _ in $(seq 60); do drained && break; done
      read -r _ r _ p50 _ p99 < <(lat "$mta" "$rate" "$msgs")
      R[$mta.$key.rate]+="$r"$'\n'; R[$mta.$key.p50]+="$p50"$'\n'; R[$mta.$key.p99]+="$p99"$'\n'
    done
  done
done

# 10,000 idle connections to Postern: resident memory while they are open
rss_kb() { awk '/VmRSS/{print $2}' /proc/$1/status; }
rss0=$(rss_kb $PT_PID)
coproc IDLE { $PY bench/tools/idle.py 127.0.0.1 $PT_PORT 10000; }
read -r idle_line <&"${IDLE[0]}"
sleep 2; rss1=$(rss_kb $PT_PID)
echo >&"${IDLE[1]}"; wait "$IDLE_PID" 2>/dev/null || true

out="bench/results/$(date +%F).md"
row() { # label key [decimals]
  local k=$2 d=${3:-0} pt pf
  pt=$(printf '%s' "${R[postern.$k]}" | med); pf=$(printf '%s' "${R[postfix.$k]}" | med)
  echo "| $1 | $(printf '%s' "${R[postern.$k]}" | stat3 "$d") | $(printf '%s' "${R[postfix.$k]}" | stat3 "$d") | $(echo "$pt / $pf" | bc -l | xargs printf '%.2f')× |"
}
{
  echo "# Postern vs Postfix, $(date -u '+%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(java -version 2>&1 | head -1); Postfix $(postconf -h mail_version)."
  echo "fsync probe on the data disk: $FSYNC"
  echo "Each figure: median (min–max) of $REPS runs. smtp-source clients, 1 message per connection; 2,000 messages at 1 client, 5,000 at 20 and 100 (half for 50 KB); each scenario runs once untimed for both MTAs, then their measured runs alternate (Postern, Postfix, Postern, ...)."
  echo "Both MTAs relay to the same smtp-sink on $SINK_HOST, or deliver to a Maildir; Postern uses its default group-commit queue and the launcher's default JVM options (\`./postern\`), after a warm-up of ~90,000 messages (with pauses; 6,000 of them from one client, 20,000 to the Maildir, 30,000 from the latency client). Command: \`bench/run.sh\`."
  echo
  echo "## Durable acceptance, messages/s (until smtp-source has every 250)"
  echo
  echo "| scenario | Postern | Postfix | ratio |"
  echo "|---|---|---|---|"
  for c in 1 20 100; do for s in 1024 51200; do row "relay, $c clients, $((s / 1024)) KB" "relay.$c.$s.acc"; done; done
  row "local Maildir, 20 clients, 1 KB" "local.20.1024.acc"
  row "local Maildir, 100 clients, 1 KB" "local.100.1024.acc"
  echo
  echo "## End to end, messages/s (until the sink or the Maildir has every message)"
  echo
  echo "| scenario | Postern | Postfix | ratio |"
  echo "|---|---|---|---|"
  row "relay, 20 clients, 1 KB" "relay.20.1024.e2e"
  row "relay, 100 clients, 1 KB" "relay.100.1024.e2e"
  row "local Maildir, 20 clients, 1 KB" "local.20.1024.e2e"
  row "local Maildir, 100 clients, 1 KB" "local.100.1024.e2e"
  echo
  echo "## Server CPU per message, ms (user+system from /proc, acceptance and delivery)"
  echo
  echo "| scenario | Postern | Postfix | ratio |"
  echo "|---|---|---|---|"
  row "relay, 20 clients, 1 KB" "relay.20.1024.cpu" 3
  row "relay, 100 clients, 1 KB" "relay.100.1024.cpu" 3
  row "local Maildir, 20 clients, 1 KB" "local.20.1024.cpu" 3
  echo
  echo "## Acceptance latency, 100 persistent clients, 1 KB (end of data to 250), ms"
  echo
  echo "bench/tools/Latency.java: one Netty event loop, 100 connections, each sends MAIL/RCPT/DATA pipelined, then the content; 12,000 messages (6,000 at $LOW_RATE msg/s), the first sixth not counted (the client's own JIT warm-up); the client's JVM: \`$CLIENT_JVM\`."
  echo
  echo "| load | | Postern | Postfix |"
  echo "|---|---|---|---|"
  for k in "lat:as fast as each client can" "low:$LOW_RATE msg/s offered" "high:$HIGH_RATE msg/s offered"; do
    key=${k%%:*} label=${k#*:}
    for m in p50:p50 p99:p99 "rate:msg/s"; do
      f=${m%%:*} d=2; [ "$f" = rate ] && d=0
      echo "| $label | ${m#*:} | $(printf '%s' "${R[postern.$key.$f]}" | stat3 $d) | $(printf '%s' "${R[postfix.$key.$f]-}" | stat3 $d) |"
    done
  done
  echo
  echo "## What the load generator costs, ms of CPU per message (on the same two cores)"
  echo
  echo "| scenario | smtp-source, Postern runs | smtp-source, Postfix runs | smtp-sink, Postern runs | smtp-sink, Postfix runs |"
  echo "|---|---|---|---|---|"
  for k in relay.20.1024 relay.100.1024 local.20.1024; do
    echo "| $k | $(printf '%s' "${R[postern.$k.src]}" | stat3 3) | $(printf '%s' "${R[postfix.$k.src]}" | stat3 3) | $(printf '%s' "${R[postern.$k.snk]}" | stat3 3) | $(printf '%s' "${R[postfix.$k.snk]}" | stat3 3) |"
  done
  echo
  echo "## Memory"
  echo
  echo "Postern resident size: $((rss_start / 1024)) MiB just started, $((rss0 / 1024)) MiB idle after every run above, $((rss1 / 1024)) MiB with 10,000 idle connections open ($idle_line)."
  echo "(Postfix runs one smtpd process per connection, capped at 100 by default_process_limit; not comparable.)"
} | tee "$out"
