#!/usr/bin/env bash
# Slow look-ups must not slow anyone else: 8 ordinary smtp-source clients (sender domain answered at once)
# alone, then beside 200 sessions whose sender domains' name server never answers (a name server on
# loopback that swallows every question under silent.test). Reports the ordinary rate both ways and the
# slow sessions' end-of-data replies, which must come within dns_timeout + 1 s. Loopback only; bounded.
#   bench/isolation.sh       3 repetitions        REPS=1 bench/isolation.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} MSGS=${MSGS:-4000} PORT=2545 DNS_PORT=5354 TIMEOUT_S=2
command -v smtp-source >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix bc >/dev/null; }
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-isolation.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

java -cp target/postern.jar bench/tools/SilentDns.java $DNS_PORT > "$work/dns.log" 2>&1 &
pids+=($!)
cat > "$work/postern.toml" <<TOML
hostname = "postern.bench.test"
data_dir = "$work/data"
domains = ["bench.test"]
[listeners.smtp]
bind = "127.0.0.1:$PORT"
kind = "smtp"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
[delivery]
dns_servers = ["127.0.0.1:$DNS_PORT"]
dns_timeout = "${TIMEOUT_S}s"
[policy]
rcpt = ["reject_unauth_destination", "reject_spf_fail"]
[auth]
verify = true
TOML
echo bench | java -jar target/postern.jar user add benchuser@bench.test --password-stdin --config "$work/postern.toml" >/dev/null
./postern serve --allow-root --config "$work/postern.toml" > "$work/postern.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

ordinary() { # prints msg/s of MSGS messages from 8 clients
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s 8 -l 1024 -m "$MSGS" -f a@fast.test -t benchuser@bench.test "127.0.0.1:$PORT"
  t1=$(date +%s.%N)
  echo "$MSGS / ($t1 - $t0)" | bc -l
}
slow() { # 200 sessions, each from its own silent domain, 3 messages each (~12 s); prints Latency's line
  java -cp target/postern.jar bench/tools/Latency.java --port $PORT --clients 200 --messages 600 \
    --from 'u@s%d.silent.test' --rcpt benchuser@bench.test --accept-4xx true
}
stat3() { sort -g | awk 'NF{a[++n]=$1} END {printf "%.*f (%.*f–%.*f)", d, a[int((n+1)/2)], d, a[1], d, a[n]}' d="${1:-0}"; }

echo "warming up (both kinds of session: the JIT compiles the waiting paths too)" >&2
MSGS=20000 ordinary >/dev/null
slow >/dev/null; slow >/dev/null
alone="" beside="" worst=""
for _ in $(seq "$REPS"); do
  a=$(ordinary); alone+="$a"$'\n'
  slow > "$work/slow.out" &
  sp=$!
  sleep 3 # the client JVM compiles its source first: let it finish, so only Postern's work is compared
  b=$(ordinary); beside+="$b"$'\n'
  wait $sp
  read -r _ _ _ _ _ _ _ max < "$work/slow.out"
  worst+="$max"$'\n'
  echo "alone $a msg/s, beside $b msg/s, slow end-of-data replies: $(cat "$work/slow.out")" >&2
done
out=bench/results/$(date +%F)-isolation.md
med() { sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }
{
  echo "# Slow DNS beside ordinary clients ($(date +%F), $(nproc) cores)"
  echo
  echo "8 smtp-source clients send $MSGS messages (1 KB, sender domain answered at once, SPF at RCPT and SPF/DKIM/DMARC at"
  echo "end of data) alone, then while 200 sessions send from 200 domains whose name server never answers"
  echo "(\`bench/tools/SilentDns.java\`); dns_timeout = ${TIMEOUT_S}s. $REPS runs, median (min–max). Command: \`bench/isolation.sh\`."
  echo
  echo "| | msg/s |"
  echo "|---|---|"
  echo "| ordinary clients alone | $(printf '%s' "$alone" | stat3) |"
  echo "| ordinary clients beside 200 slow sessions | $(printf '%s' "$beside" | stat3) |"
  echo
  echo "Kept: $(echo "$(printf '%s' "$beside" | med) / $(printf '%s' "$alone" | med) * 100" | bc -l | xargs printf '%.0f')% of the rate alone (target: at least 70%)."
  echo "Slowest end-of-data reply to a slow session: $(printf '%s' "$worst" | stat3 0) ms (bound: $((TIMEOUT_S * 1000 + 1000)) ms)."
} > "$out"
cat "$out"
