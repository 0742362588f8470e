#!/usr/bin/env bash
# How long "postern backup" and "postern restore" take with 10,000 queued messages (1 KB, log store) on a
# running server whose relayhost is down, so everything stays queued. Loopback only; writes
# bench/results/<date>-backup.md.   bench/backup.sh    N=20000 bench/backup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${N:-10000} PORT=2539
command -v smtp-source >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; }
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-backup.XXXXXX)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/a.toml" <<TOML
hostname = "mx.bench.test"
data_dir = "$work/a"
domains = ["bench.test"]
relay_networks = ["127.0.0.1/32"]
[listeners.smtp]
bind = "127.0.0.1:$PORT"
kind = "smtp"
[limits]
max_connections_per_ip = 1000
[delivery]
relayhost = "[127.0.0.1]:$closed"
TOML
sed "s|$work/a\"|$work/b\"|; s|$PORT|$((PORT + 1))|" "$work/a.toml" > "$work/b.toml"
./postern serve --allow-root --config "$work/a.toml" > "$work/a.log" 2>&1 &
PID=$!
for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
smtp-source -s 20 -l 1024 -m "$N" -f bench@bench.test -t user@remote.test "127.0.0.1:$PORT"
queued=$(./postern queue list --config "$work/a.toml" --json | grep -o '"id"' | wc -l)
t0=$(date +%s.%N); ./postern backup --to "$work/backup.zip" --config "$work/a.toml"; t1=$(date +%s.%N)
t2=$(date +%s.%N); ./postern restore "$work/backup.zip" --config "$work/b.toml"; t3=$(date +%s.%N)
size=$(du -m "$work/backup.zip" | cut -f1)
out=bench/results/$(date +%F)-backup.md
{
  echo "# Backup and restore ($(date +%F), $(nproc) cores)"
  echo
  echo "$queued queued messages of 1 KB (log store) on a running server. Command: \`bench/backup.sh\`."
  echo
  echo "| | seconds (wall, including the JVM start of the CLI) |"
  echo "|---|---|"
  echo "| postern backup ($size MiB zip) | $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') |"
  echo "| postern restore | $(echo "$t3 - $t2" | bc -l | xargs printf '%.2f') |"
} > "$out"
cat "$out"
