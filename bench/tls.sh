#!/usr/bin/env bash
# What verified TLS costs the sender: one Postern relays N messages (20 smtp-source clients) to a second
# Postern on 127.0.0.2, for three destination domains whose MX is that receiver: may.test at the default
# level "may" (opportunistic, certificate unchecked), verify.test at "verify" ([tls_policy]), and sts.test
# under an MTA-STS enforce policy served by the receiver (fetched once, then held), and dane.bench at
# "dane-only" with a DANE-EE TLSA record in a DNSSEC-signed zone (ldns-signzone; unbound serves it as an
# auth-zone; Postern validates every answer from the zone's key as trust anchor). Reports end-to-end
# msg/s and the sender's CPU per message, medians of REPS runs. DNS from a local unbound; loopback only.
#   bench/tls.sh        N=3000, REPS=3        REPS=1 N=1000 bench/tls.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} N=${N:-3000} PORT=2548 RPORT=2600 SETUP_PORT=2601 DNS_PORT=5356 STS_PORT=8443
need=()
command -v smtp-source >/dev/null || need+=(postfix)
[ -x /usr/sbin/unbound ] || need+=(unbound)
command -v bc >/dev/null || need+=(bc)
command -v ldns-signzone >/dev/null || need+=(ldnsutils)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-tls.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# a CA and the receiver's certificate (its MX name and the MTA-STS policy host)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 \
  -subj "/CN=Bench CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/mx.key" -out "$work/mx.csr" -subj "/CN=mx.bench.test" 2>/dev/null
printf "subjectAltName=DNS:mx.bench.test,DNS:mta-sts.sts.test\n" > "$work/ext"
openssl x509 -req -in "$work/mx.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/mx.pem" -days 2 \
  -extfile "$work/ext" 2>/dev/null

# dane.bench: a signed zone whose MX has a DANE-EE (3 1 1) TLSA record for the receiver's key
spki=$(openssl x509 -in "$work/mx.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
cat > "$work/dane.bench.zone" <<ZONE
\$ORIGIN dane.bench.
\$TTL 3600
@ IN SOA ns.dane.bench. hostmaster.dane.bench. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
@ IN MX 10 mx
mx IN A 127.0.0.2
_$RPORT._tcp.mx IN TLSA 3 1 1 $spki
ZONE
(cd "$work" && key=$(ldns-keygen -a ECDSAP256SHA256 -k dane.bench) && ldns-signzone dane.bench.zone "$key" && cp "$key.key" anchors)

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
  local-zone: "test." static
  local-data: "mx.bench.test. A 127.0.0.2"
  local-data: "may.test. MX 10 mx.bench.test."
  local-data: "verify.test. MX 10 mx.bench.test."
  local-data: "sts.test. MX 10 mx.bench.test."
  local-data: '_mta-sts.sts.test. TXT "v=STSv1; id=1"'
  local-data: "mta-sts.sts.test. A 127.0.0.2"
auth-zone:
  name: "dane.bench."
  zonefile: "$work/dane.bench.zone.signed"
  for-downstream: yes
  for-upstream: no
remote-control:
  control-enable: no
CONF
/usr/sbin/unbound -d -c "$work/unbound.conf" > "$work/unbound.log" 2>&1 &
pids+=($!)

cat > "$work/receiver.toml" <<TOML
hostname = "mx.bench.test"
data_dir = "$work/receiver"
domains = ["may.test", "verify.test", "sts.test", "dane.bench"]
[listeners.smtp]
bind = "127.0.0.2:$RPORT"
kind = "smtp"
[listeners.setup]
bind = "0.0.0.0:$SETUP_PORT"
kind = "smtp"
[tls]
cert = "$work/mx.pem"
key = "$work/mx.key"
[limits]
max_connections = 5000
max_connections_per_ip = 5000
[mta_sts]
mode = "enforce"
mx = ["mx.bench.test"]
max_age = "1d"
bind = "127.0.0.2:$STS_PORT"
TOML
cat > "$work/sender.toml" <<TOML
hostname = "out.bench.test"
data_dir = "$work/sender"
domains = ["out.bench.test"]
relay_networks = ["127.0.0.1/32"]
[listeners.smtp]
bind = "127.0.0.1:$PORT"
kind = "smtp"
[limits]
max_connections_per_ip = 1000
[delivery]
dns_servers = ["127.0.0.1:$DNS_PORT"]
smtp_port = $RPORT
tls_ca_file = "$work/ca.pem"
mta_sts_port = $STS_PORT
dnssec_trust_anchors = "$work/anchors"
[tls_policy]
"verify.test" = "verify"
"dane.bench" = "dane-only"
TOML
for d in may.test verify.test sts.test dane.bench; do
  echo bench | java -jar target/postern.jar user add "u@$d" --password-stdin --config "$work/receiver.toml" >/dev/null
done
./postern serve --allow-root --config "$work/receiver.toml" > "$work/receiver.log" 2>&1 &
pids+=($!)
./postern serve --allow-root --config "$work/sender.toml" > "$work/sender.log" 2>&1 &
SPID=$!
pids+=($SPID)
for p in "127.0.0.1/$PORT" "127.0.0.2/$RPORT"; do
  for _ in $(seq 200); do (echo > /dev/tcp/${p%/*}/${p#*/}) 2>/dev/null && break; sleep 0.1; done
done

count() { find "$work/receiver/mailboxes/$1/u/Maildir/new" -type f 2>/dev/null | wc -l; }
cpu() { awk '{print ($14+$15)/100}' /proc/$SPID/stat; }
once() { # domain → "msg/s cpu_ms_per_msg"
  local before target t0 t1 c0 c1
  before=$(count "$1"); target=$((before + N))
  c0=$(cpu); t0=$(date +%s.%N)
  smtp-source -s 20 -l 1024 -m "$N" -f bench@out.bench.test -t "u@$1" "127.0.0.1:$PORT"
  for _ in $(seq 6000); do [ "$(count "$1")" -ge "$target" ] && break; sleep 0.05; done
  t1=$(date +%s.%N); c1=$(cpu)
  [ "$(count "$1")" -ge "$target" ] || { echo "not all of $N delivered to $1 (see $work/sender.log)" >&2; exit 1; }
  echo "$(echo "$N / ($t1 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $N" | bc -l)"
}
echo "warming up (the JIT keeps compiling for tens of thousands of messages)" >&2
for _ in 1 2; do for d in may.test verify.test sts.test dane.bench; do N=8000 once "$d" >/dev/null; done; done
declare -A rate cpu
orders=("may.test verify.test sts.test dane.bench" "verify.test sts.test dane.bench may.test" "sts.test dane.bench may.test verify.test"
        "dane.bench may.test verify.test sts.test")
for rep in $(seq "$REPS"); do
  for d in ${orders[$(( (rep - 1) % 4 ))]}; do  # the levels take turns going first: what warming remains is shared
    read -r r c < <(once "$d")
    rate[$d]+="$r"$'\n'; cpu[$d]+="$c"$'\n'
    echo "$d: $r msg/s, $c ms CPU/msg" >&2
  done
done
# sts.test really went under the policy: it was fetched and is held
grep -q "^sts.test" "$work/sender/mta-sts.db" || { echo "the MTA-STS policy of sts.test was never fetched" >&2; exit 1; }
# dane.bench really went by DANE: its sessions are counted under its TLSA policy, none failed
java -jar target/postern.jar tlsrpt report --day "$(date -u +%F)" --out "$work/rpt" --config "$work/sender.toml" >/dev/null 2>&1 || true
zcat "$work"/rpt/*'!dane.bench!'*.json.gz 2>/dev/null | grep -Eq '"policy-type" *: *"tlsa"' \
  || { echo "no DANE (tlsa) sessions were counted for dane.bench" >&2; exit 1; }
# session set-up apart from reuse: Postern's SMTP client opening fresh sessions to 127.0.x.y (SessionSetup)
declare -A setup
for rep in $(seq "$REPS"); do
  for level in may verify; do
    line=$(java -cp target/postern.jar bench/tools/SessionSetup.java --port $SETUP_PORT --level $level --ca "$work/ca.pem" \
      --host mx.bench.test --rcpt u@may.test --sessions 500)
    echo "$line" >&2
    setup[$level]+="$line"$'\n'
    sleep 6 # the sessions just made close after 5 s idle
  done
done
field() { awk -v f="$1" '{for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}'; }
med() { sort -g | awk 'NF{a[++n]=$1} END {printf "%.*f", d, a[int((n+1)/2)]}' d="${1:-0}"; }
out=bench/results/$(date +%F)-tls.md
{
  echo "# Outbound TLS levels: what verification costs ($(date +%F), $(nproc) cores)"
  echo
  echo "20 smtp-source clients send $N messages of 1 KB through one Postern to a second Postern on 127.0.0.2 (the MX of all four"
  echo "domains, TLS 1.3 with an ECDSA certificate from a bench CA). Connections to the receiver are reused, so the"
  echo "handshakes are amortized over many messages, as in production. After 64,000 messages of warm-up, $REPS runs, the order of"
  echo "the four rotated; medians; sender CPU from /proc. Command: \`bench/tls.sh\`."
  echo
  echo "| destination | level | end-to-end msg/s | sender CPU ms/msg |"
  echo "|---|---|---|---|"
  echo "| may.test | may (certificate not checked) | $(printf '%s' "${rate[may.test]}" | med) | $(printf '%s' "${cpu[may.test]}" | med 3) |"
  echo "| verify.test | verify ([tls_policy]) | $(printf '%s' "${rate[verify.test]}" | med) | $(printf '%s' "${cpu[verify.test]}" | med 3) |"
  echo "| sts.test | MTA-STS enforce (policy held) | $(printf '%s' "${rate[sts.test]}" | med) | $(printf '%s' "${cpu[sts.test]}" | med 3) |"
  echo "| dane.bench | dane-only (TLSA 3 1 1, DNSSEC validated in process, answers held for their TTL) | $(printf '%s' "${rate[dane.bench]}" | med) | $(printf '%s' "${cpu[dane.bench]}" | med 3) |"
  echo
  echo "Session set-up apart from reuse (\`bench/tools/SessionSetup.java\`: Postern's SMTP client opens 500 new sessions one after"
  echo "another to as many loopback addresses of the receiver, each TCP connect, greeting, EHLO, STARTTLS, TLS 1.3 handshake,"
  echo "the level's certificate check, EHLO, then MAIL FROM:<>, RCPT, RSET; after 500 of warm-up; client CPU; medians of $REPS runs):"
  echo
  echo "| level | session p50 ms | session p99 ms | client CPU ms/session |"
  echo "|---|---|---|---|"
  for level in may verify; do
    echo "| $level | $(printf '%s' "${setup[$level]}" | field p50_ms | med 3) | $(printf '%s' "${setup[$level]}" | field p99_ms | med 3) | $(printf '%s' "${setup[$level]}" | field cpu_ms_per_session | med 3) |"
  done
} > "$out"
cat "$out"
