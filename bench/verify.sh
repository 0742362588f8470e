#!/usr/bin/env bash
# Recipient verification beside Dovecot: RCPT latency with a cold cache (each RCPT probes Dovecot's LMTP
# unix socket) and a warm one, for users Dovecot knows (250) and does not (550 5.1.1), and the cache's hit
# rate. A private Dovecot (Debian's) and Postern on loopback; clients from Python's smtplib.
#   bench/verify.sh          N=500 addresses of each kind, 3 repetitions (fresh caches each)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} N=${N:-500} PORT=2546
command -v dovecot >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-core dovecot-lmtpd >/dev/null; }
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-verify.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/dovecot/run/master.pid" ] && kill "$(cat "$work/dovecot/run/master.pid")" 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work/dovecot/run" "$work/dovecot/state" "$work/store"
chown mail:mail "$work/store"
for i in $(seq 0 $((N - 1))); do echo "u$i@lmtp.bench.test:{PLAIN}x:8:8::$work/store/u$i::"; done > "$work/dovecot/passwd"
cat > "$work/dovecot/dovecot.conf" <<CONF
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/dovecot.log
protocols = lmtp
ssl = no
first_valid_uid = 8
mail_location = maildir:$work/store/%n/Maildir
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $work/dovecot/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $work/dovecot/passwd
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"
for _ in $(seq 100); do [ -S "$work/dovecot/run/lmtp" ] && break; sleep 0.1; done

cat > "$work/postern.toml" <<TOML
hostname = "postern.bench.test"
data_dir = "$work/data"
domains = ["postern.bench.test"]
relay_domains = ["lmtp.bench.test"]
[listeners.smtp]
bind = "127.0.0.1:$PORT"
kind = "smtp"
[transport]
"lmtp.bench.test" = "lmtp:unix:$work/dovecot/run/lmtp"
[policy]
rcpt = ["reject_unauth_destination", "reject_unverified_recipient"]
TOML
results=""
for r in $(seq "$REPS"); do
  rm -rf "$work/data"
  ./postern serve --allow-root --config "$work/postern.toml" > "$work/postern.log" 2>&1 &
  sp=$!
  pids+=($sp)
  for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
  out=$(python3 bench/tools/rcpt_latency.py $PORT "$N")
  metrics=$(curl -s "http://127.0.0.1:$(cat "$work/data/admin.port")/metrics")
  hits=$(awk '$1=="postern_verify_cache_hits_total"{print $2}' <<<"$metrics")
  probes=$(awk '$1=="postern_verify_probes_total"{print $2}' <<<"$metrics")
  echo "run $r: $(tr '\n' ';' <<<"$out") hits=$hits probes=$probes" >&2
  results+="$out"$'\n'
  kill $sp; wait $sp 2>/dev/null || true
done
med() { sort -g | awk 'NF{a[++n]=$1} END {printf "%.2f", a[int((n+1)/2)]}'; }
row() { # name → "| name | replies | median of medians | median of p99s |"
  local lines; lines=$(grep "^$1 " <<<"$results")
  echo "| $1 | $(head -1 <<<"$lines" | cut -d' ' -f2) | $(cut -d' ' -f3 <<<"$lines" | med) | $(cut -d' ' -f4 <<<"$lines" | med) |"
}
out=bench/results/$(date +%F)-verify.md
{
  echo "# Recipient verification beside Dovecot ($(date +%F), $(nproc) cores)"
  echo
  echo "Python's smtplib (15 RCPTs per session: 550s count against the error limit) asks RCPT for $N users Dovecot knows, twice, then for $N it does not, twice;"
  echo "\`reject_unverified_recipient\` probes Dovecot $(dovecot --version | cut -d' ' -f1)'s LMTP on its unix socket (LHLO, MAIL FROM:<>, RCPT, RSET,"
  echo "connection kept for the next probe). Fresh cache each run; $REPS runs, medians. Command: \`bench/verify.sh\`."
  echo
  echo "| pass | replies (code:count) | RCPT median ms | RCPT p99 ms |"
  echo "|---|---|---|---|"
  for p in known-cold known-warm unknown-cold unknown-warm; do row $p; done
  echo
  echo "Cache hit rate over the run: $hits hits / $((hits + probes)) RCPTs for relay recipients ($probes probes) — every second RCPT of an address."
} > "$out"
cat "$out"
