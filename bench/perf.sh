#!/usr/bin/env bash
# Where the machine's two cores go while Postern relays (or delivers to a Maildir) as fast as smtp-source can
# send: `perf record -a` for 8 s in the middle of a run, then
#   - each process's share of all samples (Postern, the load generator, idle, kernel threads);
#   - Postern's samples by code: kernel, Java (JIT), libjvm (collector, compiler, runtime), other native;
#   - Postern's kernel samples by the system call they are in;
#   - Postern's samples by thread group, and each group's share in futex (thread hand-offs).
# Postern alone, warmed with 40,000 messages; loopback only; about a minute.
#   bench/perf.sh                     100 clients, relay to smtp-sink
#   CLIENTS=20 DEST=local bench/perf.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CLIENTS=${CLIENTS:-100} DEST=${DEST:-relay} SECONDS_SAMPLED=${SECONDS_SAMPLED:-8}
SINK_PORT=28225 PT_PORT=28226
need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
[ -f target/postern.jar ] || ./mvnw -q -B -DskipTests package
work=$(mktemp -d)
smtp-sink -c -u nobody "127.0.0.3:$SINK_PORT" 5000 > $work/sink.out 2>&1 &
SINK=$!
. bench/tools/relay-config.sh
{ relay_config "$work/data" "$PT_PORT" 127.0.0.3 "$SINK_PORT"; printf '[auth]\nverify = false\n'; } > $work/postern.toml
echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config $work/postern.toml >/dev/null
# frame pointers in compiled Java code, so that a sample's stack reaches the system call it is in
POSTERN_JAVA_OPTS="$(sed -n 's/^defaults="\(.*\)"$/\1/p' postern) -XX:+PreserveFramePointer" \
  ./postern serve --allow-root --config $work/postern.toml > $work/postern.log 2>&1 &
for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PT_PORT) 2>/dev/null && break; sleep 0.1; done
PT=$(pgrep -f "postern.jar serve --allow-root --config $work/postern.toml" | head -1)
trap 'kill $PT $SINK 2>/dev/null; rm -rf $work /tmp/perf-$PT.map' EXIT
rcpt=user@sink.test; [ "$DEST" = local ] && rcpt=benchuser@bench.test
smtp-source -s 20 -l 1024 -m 40000 -f warm@source.test -t "$rcpt" 127.0.0.1:$PT_PORT
sleep 3
smtp-source -s "$CLIENTS" -l 1024 -m 60000 -f b@source.test -t "$rcpt" 127.0.0.1:$PT_PORT &
SRC=$!
sleep 2
perf record -F 999 -a -g -o $work/perf.data -- sleep "$SECONDS_SAMPLED" > /dev/null 2>&1
jcmd $PT Compiler.perfmap > /dev/null # names for the compiled Java code
kill $SRC 2>/dev/null; wait $SRC 2>/dev/null
echo "Postern alone, $CLIENTS clients, 1 KB, $DEST; $(nproc) cores sampled at 999 Hz for $SECONDS_SAMPLED s"
perf script -i $work/perf.data -F pid,tid,comm,ip,sym,dso 2>/dev/null | awk -v jp="$PT" '
function flush(  i, sc, d, g) {
  if (!n) return
  all++; proc[pid == jp ? "postern" : name]++
  if (pid == jp) {
    j++
    d = dso1 ~ /kernel/ ? "kernel" : dso1 ~ /perf-[0-9]+\.map|JIT/ ? "Java (JIT)" : dso1 ~ /libjvm/ ? "libjvm (collector, compiler, runtime)" : "other native"
    code[d]++
    g = name; sub(/[-0-9]+$/, "", g); group[g]++
    for (i = 1; i <= n; i++) if (f[i] ~ /^(__x64_sys_|__do_sys_|ksys_)/) { sc = f[i]; break }
    if (dso1 ~ /kernel/) call[sc == "" ? "(no system call: interrupts, softirq, scheduler)" : sc]++
    if (sc == "__x64_sys_futex") futex[g]++
  }
  n = 0
}
/^[ \t]*$/ { next }
!/^\t/ { flush(); split($NF, ids, "/"); pid = ids[1]; name = $0; sub(/ +[0-9]+\/[0-9]+ *$/, "", name); sub(/^ +/, "", name); next }
{ n++; f[n] = $2; if (n == 1) { dso1 = $0; sub(/.*\(/, "", dso1) } }
END {
  flush()
  print "\nshare of all samples, by process:"
  for (k in proc) printf "%7.1f%%  %s\n", 100 * proc[k] / all, k | "sort -rn | head -8"; close("sort -rn | head -8")
  print "\nPostern by code (share of Postern):"
  for (k in code) printf "%7.1f%%  %s\n", 100 * code[k] / j, k | "sort -rn"; close("sort -rn")
  print "\nPostern kernel time by system call (share of Postern):"
  for (k in call) printf "%7.1f%%  %s\n", 100 * call[k] / j, k | "sort -rn | head -12"; close("sort -rn | head -12")
  print "\nPostern by thread group (share of Postern; of it in futex):"
  for (k in group) printf "%7.1f%%  %-22s futex %5.1f%%\n", 100 * group[k] / j, k, 100 * futex[k] / j | "sort -rn | head -10"; close("sort -rn | head -10")
}'
