#!/usr/bin/env bash
# Which garbage collector gives the lowest acceptance latency at 100 persistent clients (relay to smtp-sink)?
# Postern alone, warmed with 30,000 messages; three Latency runs per collector. Loopback only.
#   bench/gc.sh serial parallel g1 serial-xmn
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(mktemp -d)
SINK_PORT=27025; PT_PORT=27026
smtp-sink -c -u nobody "127.0.0.3:$SINK_PORT" 2000 > $work/sink.out 2>&1 &
SINK=$!
. bench/tools/relay-config.sh
{ relay_config "$work/data" "$PT_PORT" 127.0.0.3 "$SINK_PORT"; printf '[auth]\nverify = false\n'; } > $work/postern.toml
for name in "$@"; do
  case $name in
    serial) opts="-Xms16m -Xmx512m -XX:+UseSerialGC -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20" ;;
    serial-xmn) opts="-Xms16m -Xmx512m -Xmn96m -XX:+UseSerialGC -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20" ;;
    parallel) opts="-Xms16m -Xmx512m -XX:+UseParallelGC -XX:ParallelGCThreads=2" ;;
    g1) opts="-Xms16m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=5" ;;
  esac
  rm -rf $work/data
  POSTERN_JAVA_OPTS="$opts" ./postern serve --allow-root --config $work/postern.toml > $work/pt-$name.log 2>&1 &
  PT=$!
  for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PT_PORT) 2>/dev/null && break; sleep 0.1; done
  JPID=$(pgrep -f "postern.jar serve --allow-root --config $work/postern.toml" | head -1)
  smtp-source -s 20 -m 30000 -l 1024 -f warm@source.test -t user@sink.test 127.0.0.1:$PT_PORT
  java -cp target/postern.jar bench/tools/Latency.java --port $PT_PORT --clients 100 --messages 10000 >/dev/null
  sleep 5
  for r in 1 2 3; do
    c0=$(awk '{print ($14+$15)}' /proc/$JPID/stat)
    out=$(java -cp target/postern.jar bench/tools/Latency.java --port $PT_PORT --clients 100 --messages 10000 --size 1024)
    c1=$(awk '{print ($14+$15)}' /proc/$JPID/stat)
    echo "$name run $r: $out cpu_ms_per_msg $(echo "scale=3; ($c1-$c0)*10/10000" | bc) rss_kb $(awk '/VmRSS/{print $2}' /proc/$JPID/status)"
    sleep 3
  done
  kill $JPID; wait $PT 2>/dev/null
done
kill $SINK
