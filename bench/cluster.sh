#!/usr/bin/env bash
# One Postern node on PostgreSQL beside one on its log store and beside Postfix, one run on this machine
# (see bench/README.md: it reconfigures the local Postfix).   REPS=1 bench/cluster.sh  for a quick look.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3}
SINK_HOST=127.0.0.3 SINK_PORT=30025 LOG_PORT=2525 PG_PORT=2526 PF_PORT=25 DB_PORT=55432
MSGS=${MSGS:-5000} CLIENTS=${CLIENTS:-20}
PY=/usr/bin/python3

need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v bc >/dev/null || need+=(bc)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
./mvnw -q -B -DskipTests package
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/postern-cluster-bench.XXXXXX); chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  postfix stop >/dev/null 2>&1 || true
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---------------------------------------------------------------- PostgreSQL, private, with statement counts
mkdir "$work/pg" && chown postgres:postgres "$work/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w -o "-p $DB_PORT -k $work/pg -c listen_addresses=127.0.0.1 \
  -c shared_preload_libraries=pg_stat_statements -c max_connections=200" start >/dev/null
psql() { command psql -h 127.0.0.1 -p $DB_PORT -U postgres -Atq "$@"; }
psql -c "CREATE USER postern" -c "CREATE DATABASE postern OWNER postern"
psql -d postern -c "CREATE EXTENSION pg_stat_statements"

smtp-sink -c -u nobody "$SINK_HOST:$SINK_PORT" 2000 > "$work/sink.out" 2>&1 &
pids+=($!)
sink_count() { tr '\r' '\n' < "$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || echo 0; }

# ---------------------------------------------------------------- two Posterns: log store, PostgreSQL
for store in log pg; do
  port=$LOG_PORT; [ $store = pg ] && port=$PG_PORT
  cat > "$work/$store.toml" <<TOML
hostname = "postern.bench.test"
data_dir = "$work/$store-data"
domains = ["bench.test"]
relay_networks = ["127.0.0.0/8"]
[listeners.smtp]
bind = "127.0.0.1:$port"
kind = "smtp"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
[transport]
"sink.test" = "smtp:[$SINK_HOST]:$SINK_PORT"
TOML
done
cat >> "$work/pg.toml" <<TOML
[cluster]
database = "postgresql://127.0.0.1:$DB_PORT/postern"
user = "postern"
node_name = "bench1"
TOML
java -jar target/postern.jar db migrate --config "$work/pg.toml"
for store in log pg; do
  ./postern serve --allow-root --config "$work/$store.toml" > "$work/$store.log" 2>&1 &
  pids+=($!); eval "PID_$store=$!"
done

# ---------------------------------------------------------------- Postfix, configured to match
postconf -e "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
  "myhostname = postfix.bench.test" "mydestination = bench.test" "transport_maps =" \
  "relayhost = [$SINK_HOST]:$SINK_PORT" "maillog_file = /var/log/postfix-bench.log" \
  "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
  "default_destination_concurrency_limit = 20" "compatibility_level = 3.6" "alias_maps =" "alias_database ="
postfix start >/dev/null 2>&1 || postfix reload >/dev/null 2>&1
PF_MASTER=$(cat /var/spool/postfix/pid/master.pid | tr -d ' ')

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $LOG_PORT; wait_port $PG_PORT; wait_port $PF_PORT

port_of() { case $1 in log) echo $LOG_PORT;; pg) echo $PG_PORT;; *) echo $PF_PORT;; esac; }
cpu_of() {
  case $1 in
    log) awk '{print ($14+$15)/100}' /proc/$PID_log/stat;;
    pg) # the node and the database server
      echo "$(awk '{print ($14+$15)/100}' /proc/$PID_pg/stat) + $(cpu_of db)" | bc -l;;
    db) # the database server alone: postmaster, backends, and the ones it reaped
      local pm total p; pm=$(head -1 "$work/pg/postmaster.pid")
      total=$(awk '{print ($14+$15+$16+$17)/100}' /proc/$pm/stat)
      for p in $(ps -o pid= --ppid "$pm"); do
        [ -r /proc/$p/stat ] && total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/$p/stat 2>/dev/null || echo 0)" | bc -l)
      done
      echo "$total";;
    *) local total p; total=$(awk '{print ($14+$15+$16+$17)/100}' /proc/$PF_MASTER/stat)
      for p in $(ps -o pid= --ppid "$PF_MASTER"); do
        [ -r /proc/$p/stat ] && total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/$p/stat 2>/dev/null || echo 0)" | bc -l)
      done
      echo "$total";;
  esac
}
db_counters() { # statements commits wal_fsyncs
  echo "$(psql -d postern -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'") \
$(psql -d postern -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postern'") \
$(psql -d postern -c "SELECT wal_sync FROM pg_stat_wal")"
}

run_once() { # mta -> "accepted end_to_end cpu_ms_per_msg statements commits fsyncs db_cpu_ms_per_msg" (per message)
  local mta=$1 before target t0 t1 t2 c0 c1 d0 d1 n s0 x0 f0 s1 x1 f1
  before=$(sink_count); target=$((before + MSGS))
  read -r s0 x0 f0 < <(db_counters)
  d0=$(cpu_of db); c0=$(cpu_of "$mta"); t0=$(date +%s.%N)
  smtp-source -s "$CLIENTS" -l 1024 -m "$MSGS" -f bench@source.test -t user@sink.test "127.0.0.1:$(port_of "$mta")"
  t1=$(date +%s.%N)
  for _ in $(seq 12000); do n=$(sink_count); [ "$n" -ge "$target" ] && break; sleep 0.05; done
  t2=$(date +%s.%N); sleep 1; c1=$(cpu_of "$mta"); d1=$(cpu_of db)
  read -r s1 x1 f1 < <(db_counters)
  echo "$(echo "$MSGS / ($t1 - $t0)" | bc -l) $(echo "$MSGS / ($t2 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $MSGS" | bc -l) \
$(echo "($s1 - $s0) / $MSGS" | bc -l) $(echo "($x1 - $x0) / $MSGS" | bc -l) $(echo "($f1 - $f0) / $MSGS" | bc -l) \
$(echo "($d1 - $d0) * 1000 / $MSGS" | bc -l)"
}
stat3() { sort -g | awk 'NF{a[++n]=$1} END {if(n==0){print "-";exit} printf "%.*f (%.*f–%.*f)", d, a[int((n+1)/2)], d, a[1], d, a[n]}' d="${1:-0}"; }
med() { sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }

echo "warming up" >&2
# the JIT needs several thousand messages before Postern runs at speed
for mta in log pg; do smtp-source -s 20 -m 8000 -l 1024 -f warm@source.test -t user@sink.test "127.0.0.1:$(port_of $mta)"; done
smtp-source -s 20 -m 1000 -l 1024 -f warm@source.test -t user@sink.test "127.0.0.1:$PF_PORT"
sleep 3
FSYNC=$($PY bench/tools/fsync_probe.py "$work" 3 | tr '\n' ' ')

declare -A R
for _ in $(seq "$REPS"); do
  for mta in log pg postfix; do # interleaved, so that the machine's drift touches all three alike
    read -r a e c s x f d < <(run_once $mta)
    R[$mta.acc]+="$a"$'\n'; R[$mta.e2e]+="$e"$'\n'; R[$mta.cpu]+="$c"$'\n'
    R[$mta.stm]+="$s"$'\n'; R[$mta.xact]+="$x"$'\n'; R[$mta.fsync]+="$f"$'\n'; R[$mta.db]+="$d"$'\n'
    echo "$mta: accepted $a end-to-end $e cpu $c ms (database $d) statements $s commits $x fsyncs $f per message" >&2
  done
done
TOP=$(psql -d postern -c "SELECT calls || ' × ' || regexp_replace(left(query, 90), '\s+', ' ', 'g') FROM pg_stat_statements \
  WHERE query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 8")

out="bench/results/$(date +%F)-cluster.md"
ratio() { echo "$(printf '%s' "${R[$1]}" | med) / $(printf '%s' "${R[$2]}" | med)" | bc -l | xargs printf '%.2f'; }
{
  echo "# One Postern node on PostgreSQL vs the log store vs Postfix, $(date -u '+%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(java -version 2>&1 | head -1); Postfix $(postconf -h mail_version); PostgreSQL $(command psql --version | awk '{print $3}') (private, same disk, synchronous_commit on)."
  echo "fsync probe on the data disk: $FSYNC"
  echo "$CLIENTS smtp-source clients, 1 KB, $MSGS messages per run, relay to one smtp-sink; median (min–max) of $REPS interleaved runs. Command: \`bench/cluster.sh\`."
  echo
  echo "| | Postern, PostgreSQL | Postern, log store | Postfix | PostgreSQL / Postfix |"
  echo "|---|---|---|---|---|"
  echo "| durable acceptance, msg/s | $(printf '%s' "${R[pg.acc]}" | stat3) | $(printf '%s' "${R[log.acc]}" | stat3) | $(printf '%s' "${R[postfix.acc]}" | stat3) | $(ratio pg.acc postfix.acc)× |"
  echo "| end to end, msg/s | $(printf '%s' "${R[pg.e2e]}" | stat3) | $(printf '%s' "${R[log.e2e]}" | stat3) | $(printf '%s' "${R[postfix.e2e]}" | stat3) | $(ratio pg.e2e postfix.e2e)× |"
  echo "| CPU per message, ms (PostgreSQL: node + database server) | $(printf '%s' "${R[pg.cpu]}" | stat3 3) | $(printf '%s' "${R[log.cpu]}" | stat3 3) | $(printf '%s' "${R[postfix.cpu]}" | stat3 3) | |"
  echo "| of which the database server, ms | $(printf '%s' "${R[pg.db]}" | stat3 3) | | | |"
  echo "| SQL statements per message | $(printf '%s' "${R[pg.stm]}" | stat3 2) | | | |"
  echo "| commits per message | $(printf '%s' "${R[pg.xact]}" | stat3 2) | | | |"
  echo "| WAL fsyncs per message | $(printf '%s' "${R[pg.fsync]}" | stat3 3) | | | |"
  echo
  echo "Statements by count (pg_stat_statements, whole run including warm-up):"
  echo
  echo '```'
  echo "$TOP"
  echo '```'
} | tee "$out"
