#!/usr/bin/env bash
# What the full check chain costs: Postern accepting mail with every check on (policy checks incl. DNSBL,
# FCrDNS, SPF, sender DBL, rate limits; SPF/DKIM/DMARC/ARC verification and Authentication-Results) versus
# the default chain, in the same run. DNS comes from a local unbound on 127.0.0.1:5353 serving the zones
# from memory, as a production MX would use a local caching resolver. Loopback only.
#   bench/checks.sh          3 repetitions          REPS=1 bench/checks.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} MSGS=${MSGS:-5000} CLIENTS=${CLIENTS:-20}
OFF_PORT=2535 ON_PORT=2536 DNS_PORT=5353

need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v bc >/dev/null || need+=(bc)
[ -x /usr/sbin/unbound ] || need+=(unbound)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-checks.XXXXXX); chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cat > "$work/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$DNS_PORT
  port: $DNS_PORT
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  local-zone: "source.test." static
  local-data: "source.test. TXT \"v=spf1 ip4:127.0.0.0/8 -all\""
  local-data: "_dmarc.source.test. TXT \"v=DMARC1; p=reject\""
  local-data: "client.source.test. A 127.0.0.1"
  local-zone: "zen.bench.test." static
  local-data: "zen.bench.test. 3600 SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300"
  local-zone: "dbl.bench.test." static
  local-data: "dbl.bench.test. 3600 SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300"
remote-control:
  control-enable: no
CONF
/usr/sbin/unbound -d -c "$work/unbound.conf" > "$work/unbound.log" 2>&1 &
pids+=($!)

common() { # name port
  cat <<TOML
hostname = "postern.bench.test"
data_dir = "$work/$1"
domains = ["bench.test"]
[listeners.smtp]
bind = "127.0.0.1:$2"
kind = "smtp"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
[delivery]
dns_servers = ["127.0.0.1:$DNS_PORT"]
TOML
}
common off $OFF_PORT > "$work/off.toml"
cat >> "$work/off.toml" <<'TOML'
[auth]
verify = false
TOML
common on $ON_PORT > "$work/on.toml"
cat >> "$work/on.toml" <<'TOML'
[policy]
connect = ["check_client_access", "reject_auth_failures", "rate_limit", "check_dnsbl"]
helo = ["reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"]
mail = ["reject_non_fqdn_sender", "check_sender_dbl"]
rcpt = ["reject_non_fqdn_recipient", "reject_unauth_destination", "reject_unknown_client_hostname",
        "reject_spf_fail", "rate_limit"]
data = ["rate_limit"]
connections_per_minute = 1000000
recipients_per_minute = 1000000
messages_per_minute = 1000000
sender_dbl = ["dbl.bench.test"]
[policy.dnsbl]
"zen.bench.test" = 1
[policy.client_access]
"192.0.2.0/24" = "reject"
[auth]
verify = true
TOML
for m in off on; do
  echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config "$work/$m.toml" >/dev/null
  java -jar target/postern.jar check-config --config "$work/$m.toml" >/dev/null
  POSTERN_LOG_LEVEL=WARN ./postern serve --config "$work/$m.toml" > "$work/$m.log" 2>&1 &
  pids+=($!); eval "PID_$m=$!"
done
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $OFF_PORT; wait_port $ON_PORT

port_of() { [ "$1" = off ] && echo $OFF_PORT || echo $ON_PORT; }
pid_of() { [ "$1" = off ] && echo "$PID_off" || echo "$PID_on"; }
maildir_count() { local d="$work/$1/mailboxes/bench.test/benchuser/Maildir/new"; if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi; }
cpu_of() { awk '{print ($14+$15)/100}' /proc/"$(pid_of "$1")"/stat; }

# prints "accepted_msgs_per_s cpu_ms_per_msg"; fails when a message was refused
run_once() { # mode msgs
  local mode=$1 msgs=$2 t0 t1 c0 c1 before n
  before=$(maildir_count "$mode")
  c0=$(cpu_of "$mode"); t0=$(date +%s.%N)
  smtp-source -s "$CLIENTS" -l 1024 -m "$msgs" -M client.source.test -f bench@source.test -t benchuser@bench.test "127.0.0.1:$(port_of "$mode")"
  t1=$(date +%s.%N)
  for _ in $(seq 6000); do n=$(maildir_count "$mode"); [ "$n" -ge $((before + msgs)) ] && break; sleep 0.05; done
  [ "$n" -ge $((before + msgs)) ] || { echo "$mode: only $((n - before)) of $msgs delivered" >&2; exit 1; }
  sleep 0.5; c1=$(cpu_of "$mode")
  echo "$(echo "$msgs / ($t1 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $msgs" | bc -l)"
}
stat3() { sort -g | awk 'NF{a[++n]=$1} END {printf "%.*f (%.*f–%.*f)", d, a[int((n+1)/2)], d, a[1], d, a[n]}' d="${1:-0}"; }
med() { sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }

echo "warming up both servers" >&2
for m in off on; do run_once "$m" 3000 > /dev/null; done
declare -A ACC CPU
for _ in $(seq "$REPS"); do
  for m in off on; do            # alternate, so drift in the machine hits both alike
    read -r a c < <(run_once "$m" "$MSGS")
    ACC[$m]+="$a"$'\n'; CPU[$m]+="$c"$'\n'
    echo "$m: $a msg/s, $c ms CPU/msg" >&2
  done
done
grep -q "auth: spf=pass spf=pass dkim=none dmarc=pass arc=none" "$work/on.log" 2>/dev/null || \
  grep -c "auth:" "$work/on.log" >/dev/null || true
off=$(printf '%s' "${ACC[off]}" | med); on=$(printf '%s' "${ACC[on]}" | med)
out=bench/results/$(date +%F)-checks.md
{
  echo "# Full check chain: on vs off ($(date +%F), $(nproc) cores, $(uname -r))"
  echo
  echo "smtp-source -s $CLIENTS -l 1024 -m $MSGS into a local Maildir, $REPS alternating runs each, median (min–max)."
  echo "DNS from unbound on 127.0.0.1:$DNS_PORT (local zones: SPF and DMARC p=reject for source.test, empty DNSBL/DBL zones)."
  echo
  echo "| | checks off (default chain, no verification) | checks on (all checks + SPF/DKIM/DMARC/ARC) |"
  echo "|---|---|---|"
  echo "| accepted msg/s | $(printf '%s' "${ACC[off]}" | stat3) | $(printf '%s' "${ACC[on]}" | stat3) |"
  echo "| server CPU ms/msg | $(printf '%s' "${CPU[off]}" | stat3 3) | $(printf '%s' "${CPU[on]}" | stat3 3) |"
  echo
  echo "Acceptance with every check on: $(echo "$on / $off * 100" | bc -l | xargs printf '%.0f')% of the rate without (median to median)."
} > "$out"
cat "$out"
