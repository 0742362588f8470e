#!/usr/bin/env bash
# Relay throughput, Postern beside Postfix in one run on this machine:
#   smtp-source (CLIENTS concurrent) -> MTA on 127.0.0.1 -> Postfix's smtp-sink on 127.0.0.3
# Acceptance rate: messages/s until smtp-source finishes (every message got its 250).
# End-to-end rate: messages/s until the sink has counted every message.
# Each figure is the median of REPS runs, with min and max. Loopback only; bounded by MSGS.
# Usage: bench/relay.sh   (env: MSGS=5000 CLIENTS=20 SIZE=1024 REPS=3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MSGS=${MSGS:-5000} CLIENTS=${CLIENTS:-20} SIZE=${SIZE:-1024} REPS=${REPS:-3}
SINK=127.0.0.3:30025 POSTERN_PORT=2525 POSTFIX_PORT=25

if ! command -v smtp-source >/dev/null || ! [ -x /usr/sbin/postfix ] || ! command -v bc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix bc >/dev/null
fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  postfix stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

smtp-sink -c -u nobody "$SINK" 1000 > "$work/sink.out" 2>&1 &
pids+=($!)
sink_count() { tr '\r' '\n' < "$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || echo 0; }

# --- Postern: relay_networks for the source, a transport straight to the sink
cat > "$work/postern.toml" <<TOML
hostname = "bench.postern.test"
data_dir = "$work/postern-data"
domains = ["localhost"]
relay_networks = ["127.0.0.1/32"]
[listeners.smtp]
bind = "127.0.0.1:$POSTERN_PORT"
kind = "smtp"
[limits]
max_connections_per_ip = 1000
[transport]
"sink.test" = "smtp:[${SINK%:*}]:${SINK#*:}"
TOML
POSTERN_LOG_LEVEL=WARN java -jar target/postern.jar serve --config "$work/postern.toml" > "$work/postern.log" 2>&1 &
postern_pid=$!
pids+=($postern_pid)

# --- Postfix: the same role, configured equivalently (mynetworks, transport to the sink)
postconf -e "inet_interfaces = 127.0.0.1" "mynetworks = 127.0.0.0/8" "mydestination = localhost" \
  "relayhost = [${SINK%:*}]:${SINK#*:}" "maillog_file = /var/log/postfix-bench.log" \
  "smtpd_client_connection_count_limit = 1000" "default_destination_concurrency_limit = 20" \
  "smtp_tls_security_level = may" "compatibility_level = 3.6"
postfix start >/dev/null 2>&1 || postfix reload >/dev/null 2>&1

wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $POSTERN_PORT; wait_port $POSTFIX_PORT

run_once() { # $1 port -> prints "accept_rate e2e_rate"
  local before target t0 t1 t2 n
  before=$(sink_count); target=$((before + MSGS))
  t0=$(date +%s.%N)
  smtp-source -s "$CLIENTS" -l "$SIZE" -m "$MSGS" -f bench@source.test -t user@sink.test "127.0.0.1:$1"
  t1=$(date +%s.%N)
  for _ in $(seq 6000); do n=$(sink_count); [ "$n" -ge "$target" ] && break; sleep 0.05; done
  t2=$(date +%s.%N)
  echo "$(echo "$MSGS / ($t1 - $t0)" | bc -l) $(echo "$MSGS / ($t2 - $t0)" | bc -l)"
}
stats() { sort -n | awk '{a[NR]=$1} END {printf "%.0f (min %.0f, max %.0f)", a[int((NR+1)/2)], a[1], a[NR]}'; }

smtp-source -s 4 -m 500 -l "$SIZE" -f warm@source.test -t user@sink.test 127.0.0.1:$POSTERN_PORT # JIT warm-up
declare -A acc e2e
for name in postern postfix; do
  port=$POSTERN_PORT; [ $name = postfix ] && port=$POSTFIX_PORT
  acc[$name]=""; e2e[$name]=""
  for r in $(seq "$REPS"); do
    read -r a e < <(run_once "$port")
    acc[$name]+="$a"$'\n'; e2e[$name]+="$e"$'\n'
  done
done
median() { printf '%s' "$1" | sort -n | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }
out="bench/results/$(date +%F)-relay.md"
{
  echo "# Relay throughput, $(date -u '+%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB. Postfix $(postconf -h mail_version). $MSGS messages of $SIZE bytes, $CLIENTS concurrent smtp-source clients, each figure the median of $REPS runs (min, max). Command: \`bench/relay.sh\`."
  echo
  echo "| | accepted msg/s | end-to-end msg/s (sink counted all) |"
  echo "|---|---|---|"
  for name in postern postfix; do
    echo "| $name | $(printf '%s' "${acc[$name]}" | stats) | $(printf '%s' "${e2e[$name]}" | stats) |"
  done
  echo
  echo "Ratio Postern/Postfix: accepted $(echo "$(median "${acc[postern]}") / $(median "${acc[postfix]}")" | bc -l | xargs printf '%.2f'), end-to-end $(echo "$(median "${e2e[postern]}") / $(median "${e2e[postfix]}")" | bc -l | xargs printf '%.2f')."
} | tee "$out"
