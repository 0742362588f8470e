#!/usr/bin/env bash
# Acceptance with rspamd as a before-queue milter: Postern ([milter]) versus Postfix (smtpd_milters) with
# the same rspamd (Debian's, its proxy worker in milter mode, self-scanning; Debian's rules, no module that
# fetches from the network; its DNS answered NXDOMAIN by a local unbound). 20 smtp-source clients, 1 KB
# messages into a local Maildir; accepted msg/s, the MTA's CPU per message and rspamd's, medians of REPS
# alternating runs. Like bench/run.sh it reconfigures the machine's default Postfix instance. Loopback only.
#   bench/milter.sh          3 repetitions          REPS=1 bench/milter.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} MSGS=${MSGS:-3000} CLIENTS=${CLIENTS:-20}
PT_PORT=2537 PF_PORT=25 RSPAMD_PORT=11392 DNS_PORT=5357 SINK_HOST=127.0.0.3 SINK_PORT=30025

need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v bc >/dev/null || need+=(bc)
[ -x /usr/sbin/unbound ] || need+=(unbound)
command -v rspamd >/dev/null || need+=(rspamd)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-milter.XXXXXX); chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  postconf -X smtpd_milters milter_default_action 2>/dev/null || true
  postfix stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

cat > "$work/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$DNS_PORT
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." static
remote-control:
  control-enable: no
CONF
/usr/sbin/unbound -d -c "$work/unbound.conf" > "$work/unbound.log" 2>&1 &
pids+=($!)

mkdir -p "$work/rspamd/"{db,run,local}
cat > "$work/rspamd/rspamd.conf" <<CONF
lua = "\$RULESDIR/rspamd.lua"
.include "\$CONFDIR/metrics.conf"
.include "\$CONFDIR/actions.conf"
.include "\$CONFDIR/groups.conf"
.include "\$CONFDIR/composites.conf"
modules { path = "\${PLUGINSDIR}"; }
options {
  pidfile = "$work/rspamd/run/rspamd.pid";
  dns { nameserver = ["127.0.0.1:$DNS_PORT"]; timeout = 1s; retransmits = 1; }
}
logging { type = "file"; filename = "$work/rspamd/rspamd.log"; level = "warning"; }
milter_headers { use = ["x-spamd-result", "x-spam-status"]; skip_local = false; skip_authenticated = false; }
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:$RSPAMD_PORT";
  milter = yes;
  upstream "local" { default = yes; self_scan = yes; }
  timeout = 120s;
  count = 2;
}
CONF
rspamd -f -i -u root -g root -c "$work/rspamd/rspamd.conf" --var=DBDIR="$work/rspamd/db" --var=RUNDIR="$work/rspamd/run" \
  --var=LOGDIR="$work/rspamd" --var=LOCAL_CONFDIR="$work/rspamd/local" > "$work/rspamd/stdout.log" 2>&1 &
RSPAMD_PID=$!; pids+=($RSPAMD_PID)

. bench/tools/postfix-setup.sh
postconf -e "smtpd_milters = inet:127.0.0.1:$RSPAMD_PORT" "milter_default_action = tempfail"
postfix reload >/dev/null 2>&1

cat > "$work/postern.toml" <<TOML
hostname = "postern.bench.test"
data_dir = "$work/postern"
domains = ["bench.test"]
[listeners.smtp]
bind = "127.0.0.1:$PT_PORT"
kind = "smtp"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
[delivery]
dns_servers = ["127.0.0.1:$DNS_PORT"]
[auth]
verify = false
[milter]
servers = ["inet:127.0.0.1:$RSPAMD_PORT"]
default_action = "tempfail"
TOML
echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config "$work/postern.toml" >/dev/null
./postern serve --allow-root --config "$work/postern.toml" > "$work/postern.log" 2>&1 &
PT_PID=$!; pids+=($PT_PID)
wait_port() { for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $RSPAMD_PORT; wait_port $PT_PORT; wait_port $PF_PORT

port_of() { [ "$1" = postern ] && echo $PT_PORT || echo $PF_PORT; }
maildir_count() {
  local d="$work/postern/mailboxes/bench.test/benchuser/Maildir/new"
  [ "$1" = postfix ] && d=/home/benchuser/Maildir/new
  if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi
}
tree_cpu() { # a process and its children, reaped ones included
  local total p
  total=$(awk '{print ($14+$15+$16+$17)/100}' /proc/$1/stat)
  for p in $(ps -o pid= --ppid "$1"); do [ -r /proc/$p/stat ] && total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/$p/stat 2>/dev/null || echo 0)" | bc -l); done
  echo "$total"
}
mta_cpu() { if [ "$1" = postern ]; then awk '{print ($14+$15)/100}' /proc/$PT_PID/stat; else tree_cpu "$PF_MASTER"; fi; }

run_once() { # mta msgs → "msg/s mta_cpu_ms rspamd_cpu_ms"
  local mta=$1 msgs=$2 t0 t1 c0 c1 r0 r1 before n
  before=$(maildir_count "$mta")
  c0=$(mta_cpu "$mta"); r0=$(tree_cpu $RSPAMD_PID); t0=$(date +%s.%N)
  smtp-source -s "$CLIENTS" -l 1024 -m "$msgs" -f bench@source.test -t benchuser@bench.test "127.0.0.1:$(port_of "$mta")"
  t1=$(date +%s.%N)
  for _ in $(seq 6000); do n=$(maildir_count "$mta"); [ "$n" -ge $((before + msgs)) ] && break; sleep 0.05; done
  [ "$n" -ge $((before + msgs)) ] || { echo "$mta: only $((n - before)) of $msgs delivered" >&2; exit 1; }
  sleep 0.5; c1=$(mta_cpu "$mta"); r1=$(tree_cpu $RSPAMD_PID)
  echo "$(echo "$msgs / ($t1 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $msgs" | bc -l) $(echo "($r1 - $r0) * 1000 / $msgs" | bc -l)"
}
stat3() { sort -g | awk 'NF{a[++n]=$1} END {printf "%.*f (%.*f–%.*f)", d, a[int((n+1)/2)], d, a[1], d, a[n]}' d="${1:-0}"; }
med() { sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }

echo "warming up" >&2
run_once postern 10000 > /dev/null
run_once postfix 500 > /dev/null
# rspamd really saw both: its headers are in the delivered mail
for d in "$work/postern/mailboxes/bench.test/benchuser/Maildir/new" /home/benchuser/Maildir/new; do
  last=$(ls -t "$d" | head -1 || true)
  grep -q "^X-Spamd-Result:" "$d/$last" || { echo "no X-Spamd-Result in $d/$last: rspamd did not run" >&2; exit 1; }
done
declare -A ACC CPU RSP
for _ in $(seq "$REPS"); do
  for m in postern postfix; do
    read -r a c r < <(run_once "$m" "$MSGS")
    ACC[$m]+="$a"$'\n'; CPU[$m]+="$c"$'\n'; RSP[$m]+="$r"$'\n'
    echo "$m: $a msg/s, MTA $c ms CPU/msg, rspamd $r ms CPU/msg" >&2
  done
done
pt=$(printf '%s' "${ACC[postern]}" | med); pf=$(printf '%s' "${ACC[postfix]}" | med)
ptc=$(printf '%s' "${CPU[postern]}" | med); pfc=$(printf '%s' "${CPU[postfix]}" | med)
out=bench/results/$(date +%F)-milter.md
{
  echo "# rspamd as milter: Postern vs Postfix ($(date +%F), $(nproc) cores, $(uname -r))"
  echo
  echo "smtp-source -s $CLIENTS -l 1024 -m $MSGS into a local Maildir through the same rspamd 3.4 proxy (milter, self-scan,"
  echo "2 processes), $REPS alternating runs, median (min–max). Command: \`bench/milter.sh\`."
  echo
  echo "| | Postern [milter] | Postfix smtpd_milters |"
  echo "|---|---|---|"
  echo "| accepted msg/s | $(printf '%s' "${ACC[postern]}" | stat3) | $(printf '%s' "${ACC[postfix]}" | stat3) |"
  echo "| MTA CPU ms/msg (milter exchange included) | $(printf '%s' "${CPU[postern]}" | stat3 3) | $(printf '%s' "${CPU[postfix]}" | stat3 3) |"
  echo "| rspamd CPU ms/msg | $(printf '%s' "${RSP[postern]}" | stat3 3) | $(printf '%s' "${RSP[postfix]}" | stat3 3) |"
  echo
  echo "Postern: $(echo "$pt / $pf" | bc -l | xargs printf '%.2f')× Postfix's rate, $(echo "$ptc / $pfc" | bc -l | xargs printf '%.2f')× its CPU per message. Postfix's CPU"
  echo "is its master and all its children (smtpd, cleanup, local). Postern warmed with 10,000 messages, Postfix with 500."
} > "$out"
cat "$out"
