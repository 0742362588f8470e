#!/usr/bin/env bash
# Garbage collection vs acceptance latency at 100 persistent clients (relay to smtp-sink): per run, the
# latency, Postern's CPU per message and resident size, and the collector's pauses in that run (count and
# longest, young and full, from -Xlog:gc). Postern alone, warmed with 30,000 messages. Loopback only.
#   bench/gc.sh serial parallel g1 serial-xmn         collectors, on target/postern.jar
#   JARS="old.jar new.jar" bench/gc.sh serial        one collector, jars alternated (an A/B of a change)
#   RUNS=4 ROUNDS=2 ...                              runs per server start, and how often the list repeats
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f target/postern.jar ] || ./mvnw -q -B -DskipTests package
work=$(mktemp -d)
SINK_PORT=27025; PT_PORT=27026
smtp-sink -c -u nobody "127.0.0.3:$SINK_PORT" 2000 > $work/sink.out 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null' EXIT
. bench/tools/relay-config.sh
{ relay_config "$work/data" "$PT_PORT" 127.0.0.3 "$SINK_PORT"; printf '[auth]\nverify = false\n'; } > $work/postern.toml
# pauses logged since line $2 of gc log $1: "young N (max X ms) full N (max Y ms)"
pauses() {
  tail -n +"$2" "$1" | grep -o "Pause [A-Za-z]*.*ms" | awk '{t=$NF; sub("ms","",t); k=$2; n[k]++; if (t+0>mx[k]) mx[k]=t+0}
    END {printf "young %d (max %.0f ms) full %d (max %.0f ms)", n["Young"], mx["Young"], n["Full"], mx["Full"]}'
}
# the latency client compiles with C1 alone: with C2 its own compiling took a core for seconds (bench/run.sh)
CLIENT_JVM=${CLIENT_JVM:--XX:TieredStopAtLevel=1}
for _ in $(seq "${ROUNDS:-1}"); do
for jar in ${JARS:-target/postern.jar}; do
for name in "$@"; do
  case $name in
    serial-20) opts="-Xms16m -Xmx512m -XX:+UseSerialGC -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20" ;; # ./postern's until 2026-12-03
    serial) opts="-Xms16m -Xmx512m -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=40" ;; # ./postern's
    serial-xmn) opts="-Xms16m -Xmx512m -Xmn96m -XX:+UseSerialGC -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20" ;;
    parallel) opts="-Xms16m -Xmx512m -XX:+UseParallelGC -XX:ParallelGCThreads=2" ;;
    g1) opts="-Xms16m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=5" ;;
    *) echo "unknown collector $name" >&2; exit 2 ;;
  esac
  rm -rf $work/data $work/gc.log
  java $opts -Xlog:gc:file=$work/gc.log -jar "$jar" serve --allow-root --config $work/postern.toml > $work/pt-$name.log 2>&1 &
  JPID=$!
  for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PT_PORT) 2>/dev/null && break; sleep 0.1; done
  smtp-source -s 20 -m 30000 -l 1024 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
  # the latency client's shape for long enough that C2 is done with it: after 10,000 messages it still took
  # 1.2 s of CPU during the next 12,000 (0.3 s and 0.1 s in the two runs after), which was the first run's tail
  java -cp target/postern.jar bench/tools/Latency.java --port $PT_PORT --clients 100 --messages 30000 >/dev/null
  sleep 5
  for r in $(seq "${RUNS:-3}"); do
    c0=$(awk '{print ($14+$15)}' /proc/$JPID/stat); g0=$(($(wc -l < $work/gc.log) + 1))
    out=$(java $CLIENT_JVM -cp target/postern.jar bench/tools/Latency.java --port $PT_PORT --clients 100 --messages 12000 --size 1024 --warmup 2000)
    c1=$(awk '{print ($14+$15)}' /proc/$JPID/stat)
    echo "$(basename "$jar") $name run $r: $out cpu_ms_per_msg $(echo "scale=3; ($c1-$c0)*10/12000" | bc) rss_kb $(awk '/VmRSS/{print $2}' /proc/$JPID/status) gc: $(pauses $work/gc.log $g0)"
    sleep 3
  done
  kill $JPID; wait $JPID 2>/dev/null
done
done
done
