#!/usr/bin/env bash
# Where a message's cost goes, Postern alone: msg/s, server CPU per message, and per thread group: CPU (user /
# system), thread switches per message (/proc voluntary_ctxt_switches: each is a hand-off or a wait) and heap
# allocated per message (JFR's per-thread allocation counters, over the measured runs only). Relay to smtp-sink, or
# local Maildir with DEST=local. Loopback only; about two minutes.
#   bench/profile.sh                      20 clients, 1 KB, relay
#   CLIENTS=1 SIZE=51200 bench/profile.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CLIENTS=${CLIENTS:-20} SIZE=${SIZE:-1024} MSGS=${MSGS:-20000} WARM=${WARM:-40000} RUNS=${RUNS:-3} DEST=${DEST:-relay}
SINK_PORT=28025 PT_PORT=28026
command -v smtp-source >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; }
[ -f target/postern.jar ] || ./mvnw -q -B -DskipTests package
work=$(mktemp -d)
smtp-sink -c -u nobody "127.0.0.3:$SINK_PORT" 2000 > $work/sink.out 2>&1 &
SINK=$!
. bench/tools/relay-config.sh
relay_config "$work/data" "$PT_PORT" 127.0.0.3 "$SINK_PORT" > $work/postern.toml
echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config $work/postern.toml >/dev/null
./postern serve --allow-root --config $work/postern.toml > $work/postern.log 2>&1 &
for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PT_PORT) 2>/dev/null && break; sleep 0.1; done
PT=$(pgrep -f "postern.jar serve --allow-root --config $work/postern.toml" | head -1)
trap 'kill $PT $SINK 2>/dev/null' EXIT
rcpt=user@sink.test; [ "$DEST" = local ] && rcpt=benchuser@bench.test

# per thread group (names without their numbers, spaces made _): voluntary and involuntary switches and user
# and system CPU ticks so far; the ticks are read after the name in parentheses in stat, which may hold spaces
threads() {
  for t in /proc/$PT/task/*; do
    echo "$(sed -E 's/-?[0-9]+$//; s/[0-9]+-[0-9]+$//; s/ /_/g' $t/comm)" \
      "$(awk '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2} END{print v, n}' $t/status)" \
      "$(sed -E 's/^.*\) //' $t/stat | awk '{print $12, $13}')"
  done | awk '{v[$1]+=$2; n[$1]+=$3; u[$1]+=$4; s[$1]+=$5} END{for (k in v) print k, v[k], n[k], u[k], s[k]}' | sort
}

smtp-source -s 20 -l "$SIZE" -m "$WARM" -f warm@source.test -t "$rcpt" 127.0.0.1:$PT_PORT
sleep 2
echo "Postern alone, $CLIENTS clients, $SIZE bytes, $DEST, $MSGS messages per run after $WARM of warm-up"
for r in $(seq "$RUNS"); do
  threads > $work/t0
  jcmd $PT JFR.start name=profile settings=profile filename=$work/run$r.jfr >/dev/null
  c0=$(awk '{print $14+$15}' /proc/$PT/stat); t0=$(date +%s.%N)
  smtp-source -s "$CLIENTS" -l "$SIZE" -m "$MSGS" -f bench@source.test -t "$rcpt" 127.0.0.1:$PT_PORT
  t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' /proc/$PT/stat)
  sleep 1.2 # one more per-thread allocation sample after the last message
  jcmd $PT JFR.stop name=profile >/dev/null
  threads > $work/t1
  echo "run $r: $(echo "$MSGS / ($t1 - $t0)" | bc -l | xargs printf '%.0f') msg/s accepted, $(echo "($c1 - $c0) * 10 / $MSGS" | bc -l | xargs printf '%.3f') ms CPU per message"
  echo "  CPU per message, microseconds (user / system):"
  join $work/t0 $work/t1 | awk -v m="$MSGS" -v hz="$(getconf CLK_TCK)" '{u=($8-$4)*1e6/hz/m; s=($9-$5)*1e6/hz/m; if (u+s >= 1) printf "    %-28s %5.0f / %4.0f\n", $1, u, s}'
  echo "  thread switches per message (voluntary / involuntary):"
  join $work/t0 $work/t1 | awk -v m="$MSGS" '{v=($6-$2)/m; n=($7-$3)/m; if (v+n >= 0.01) printf "    %-28s %5.2f / %4.2f\n", $1, v, n}'
  echo "  heap allocated per message (KiB):"
  jfr print --events jdk.ThreadAllocationStatistics $work/run$r.jfr | awk -v m="$MSGS" '
    /allocated = / { v=$3; u=$4; b=(u=="kB")?v*1024:(u=="MB")?v*1048576:(u=="GB")?v*1073741824:v }
    /thread = "/ { t=$0; sub(/.*thread = "/, "", t); sub(/".*/, "", t); if (!(t in first)) first[t]=b; last[t]=b }
    END { for (t in last) { g=t; gsub(/-?[0-9]+/, "", g); d[g]+=last[t]-first[t]; all+=last[t]-first[t] }
          printf "    %-28s %6.1f\n", "all threads", all/1024/m
          for (g in d) if (d[g]/1024/m >= 0.1) printf "    %-28s %6.1f\n", g, d[g]/1024/m }'
done
