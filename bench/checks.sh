#!/usr/bin/env bash
# What the full check chain costs: Postern accepting mail with every check on (policy checks incl. DNSBL,
# FCrDNS, SPF, sender DBL, rate limits; SPF/DKIM/DMARC/ARC verification and Authentication-Results) versus
# the default chain, and versus Postfix doing the equivalent with Debian's milters and policy service
# (OpenDKIM, OpenDMARC, postfix-policyd-spf-python, reject_rbl_client, reject_rhsbl_sender,
# reject_unknown_client_hostname), in the same run. DNS comes from a local unbound serving the zones from
# memory, as a production MX would use a local caching resolver: on 127.0.0.1:5353 for Postern, and on
# 127.0.0.1:53 for OpenDKIM (its Nameservers), Postfix, OpenDMARC and the SPF policy service, which only
# know /etc/resolv.conf; that file (and Postfix's chroot copy) points at it during the run and is restored.
# Like bench/run.sh it reconfigures the machine's default Postfix instance. Loopback only.
#   bench/checks.sh          3 repetitions          REPS=1 bench/checks.sh   quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPS=${REPS:-3} MSGS=${MSGS:-5000} CLIENTS=${CLIENTS:-20}
OFF_PORT=2535 ON_PORT=2536 DNS_PORT=5353 PF_PORT=25 SINK_HOST=127.0.0.3 SINK_PORT=30025

need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v bc >/dev/null || need+=(bc)
[ -x /usr/sbin/unbound ] || need+=(unbound)
[ -x /usr/sbin/postfix ] || need+=(postfix)
[ -x /usr/sbin/opendkim ] || need+=(opendkim)
[ -x /usr/sbin/opendmarc ] || need+=(opendmarc)
[ -x /usr/bin/policyd-spf ] || need+=(postfix-policyd-spf-python)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
./mvnw -q -B -DskipTests package
work=$(mktemp -d /tmp/postern-checks.XXXXXX); chmod 755 "$work"
pids=()
cp /etc/resolv.conf "$work/resolv.conf.orig"
[ -f /var/spool/postfix/etc/resolv.conf ] && cp /var/spool/postfix/etc/resolv.conf "$work/resolv.conf.chroot"
PF_CHECKS="smtpd_helo_required smtpd_client_restrictions smtpd_helo_restrictions smtpd_sender_restrictions smtpd_recipient_restrictions smtpd_milters milter_default_action policyd-spf_time_limit"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  cat "$work/resolv.conf.orig" > /etc/resolv.conf
  # Postfix's chroot copy as it was: restored, or removed if there was none
  if [ -f "$work/resolv.conf.chroot" ]; then cp "$work/resolv.conf.chroot" /var/spool/postfix/etc/resolv.conf
  else rm -f /var/spool/postfix/etc/resolv.conf; fi
  postconf -X $PF_CHECKS 2>/dev/null || true
  postconf -MX policyd-spf/unix 2>/dev/null || true
  postfix stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

cat > "$work/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$DNS_PORT
  interface: 127.0.0.1@53
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
  local-data: 'source.test. TXT "v=spf1 ip4:127.0.0.0/8 -all"'
  local-data: '_dmarc.source.test. TXT "v=DMARC1; p=reject"'
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
# the original servers stay listed after ours, so the machine keeps a resolver if this script dies hard
{ echo "nameserver 127.0.0.1"; grep -v '^search\|^domain' "$work/resolv.conf.orig"; } > /etc/resolv.conf
mkdir -p /var/spool/postfix/etc && cp /etc/resolv.conf /var/spool/postfix/etc/resolv.conf

# ---------------------------------------------------------------- Postfix with Debian's milters and policy service
touch "$work/none"; chmod 644 "$work/none"
cat > "$work/opendkim.conf" <<CONF
Syslog no
Mode v
Socket inet:8891@127.0.0.1
UserID opendkim
Nameservers 127.0.0.1
AlwaysAddARHeader yes
AuthservID postfix.bench.test
CONF
cat > "$work/opendmarc.conf" <<CONF
Syslog false
Socket inet:8893@127.0.0.1
UserID opendmarc
AuthservID postfix.bench.test
TrustedAuthservIDs postfix.bench.test
IgnoreHosts $work/none
RejectFailures true
SPFSelfValidate false
CONF
cat > "$work/policyd-spf.conf" <<CONF
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.255/32
CONF
chmod 644 "$work"/*.conf
/usr/sbin/opendkim -f -x "$work/opendkim.conf" > "$work/opendkim.log" 2>&1 &
pids+=($!); DKIM_PID=$!
/usr/sbin/opendmarc -f -c "$work/opendmarc.conf" > "$work/opendmarc.log" 2>&1 &
pids+=($!); DMARC_PID=$!
. bench/tools/postfix-setup.sh
postconf -M "policyd-spf/unix=policyd-spf unix - n n - 0 spawn user=policyd-spf argv=/usr/bin/policyd-spf $work/policyd-spf.conf"
# the same checks as Postern's "on" server, in Postfix's words; mynetworks is not permitted early, as in Postern
postconf -e "smtpd_helo_required = yes" \
  "smtpd_client_restrictions = check_client_access cidr:$work/client_access, reject_rbl_client zen.bench.test" \
  "smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname" \
  "smtpd_sender_restrictions = reject_non_fqdn_sender, reject_rhsbl_sender dbl.bench.test" \
  "smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unauth_destination, reject_unknown_client_hostname, check_policy_service unix:private/policyd-spf" \
  "smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893" "milter_default_action = tempfail" "policyd-spf_time_limit = 3600"
echo "192.0.2.0/24 REJECT" > "$work/client_access"; chmod 644 "$work/client_access"
postfix reload >/dev/null 2>&1

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
  ./postern serve --allow-root --config "$work/$m.toml" > "$work/$m.log" 2>&1 &
  pids+=($!); eval "PID_$m=$!"
done
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
wait_port $OFF_PORT; wait_port $ON_PORT; wait_port $PF_PORT

port_of() { case $1 in off) echo $OFF_PORT;; on) echo $ON_PORT;; *) echo $PF_PORT;; esac; }
pid_of() { [ "$1" = off ] && echo "$PID_off" || echo "$PID_on"; }
maildir_count() {
  local d="$work/$1/mailboxes/bench.test/benchuser/Maildir/new"
  [ "$1" = postfix ] && d=/home/benchuser/Maildir/new
  if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi
}
# Postfix: master, its live children, the children it reaped, and the two milters
cpu_of() {
  if [ "$1" != postfix ]; then awk '{print ($14+$15)/100}' /proc/"$(pid_of "$1")"/stat; return; fi
  local total p
  total=$(awk '{print ($14+$15+$16+$17)/100}' /proc/$PF_MASTER/stat)
  for p in $(ps -o pid= --ppid "$PF_MASTER") $DKIM_PID $DMARC_PID $(pgrep -P $DKIM_PID) $(pgrep -P $DMARC_PID); do
    [ -r /proc/$p/stat ] && total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/$p/stat 2>/dev/null || echo 0)" | bc -l)
  done
  echo "$total"
}

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

echo "warming up the three servers" >&2
for m in off on; do run_once "$m" 20000 > /dev/null; done
run_once postfix 500 > /dev/null
# every check really ran in Postfix: the milters' and the policy service's fields are in the delivered mail
last=$(ls -t /home/benchuser/Maildir/new | head -1 || true)
for want in "Received-SPF: Pass" "dmarc=pass" "Authentication-Results: postfix.bench.test"; do
  grep -qi "$want" "/home/benchuser/Maildir/new/$last" || { echo "Postfix's checks did not run: no \"$want\" in $last" >&2; cat "/home/benchuser/Maildir/new/$last" >&2; exit 1; }
done
# and in Postern's "on" server: its Authentication-Results
d="$work/on/mailboxes/bench.test/benchuser/Maildir/new"; last=$(ls -t "$d" | head -1 || true)
for want in "spf=pass" "dmarc=pass"; do
  grep -q "$want" "$d/$last" || { echo "Postern's checks did not pass: no \"$want\" in $last" >&2; head -5 "$d/$last" >&2; exit 1; }
done
declare -A ACC CPU
for _ in $(seq "$REPS"); do
  for m in off on postfix; do    # alternate, so drift in the machine hits all alike
    read -r a c < <(run_once "$m" "$MSGS")
    ACC[$m]+="$a"$'\n'; CPU[$m]+="$c"$'\n'
    echo "$m: $a msg/s, $c ms CPU/msg" >&2
  done
done
off=$(printf '%s' "${ACC[off]}" | med); on=$(printf '%s' "${ACC[on]}" | med); pf=$(printf '%s' "${ACC[postfix]}" | med)
out=bench/results/$(date +%F)-checks.md
{
  echo "# Full check chain: Postern on vs off, and vs Postfix with milters ($(date +%F), $(nproc) cores, $(uname -r))"
  echo
  echo "smtp-source -s $CLIENTS -l 1024 -m $MSGS into a local Maildir, $REPS alternating runs each, median (min–max)."
  echo "DNS from unbound on 127.0.0.1:$DNS_PORT (local zones: SPF and DMARC p=reject for source.test, empty DNSBL/DBL zones)."
  echo
  echo "| | Postern, checks off (default chain, no verification) | Postern, checks on (all checks + SPF/DKIM/DMARC/ARC) | Postfix + OpenDKIM + OpenDMARC + policyd-spf + RBL/RHSBL/FCrDNS |"
  echo "|---|---|---|---|"
  echo "| accepted msg/s | $(printf '%s' "${ACC[off]}" | stat3) | $(printf '%s' "${ACC[on]}" | stat3) | $(printf '%s' "${ACC[postfix]}" | stat3) |"
  echo "| server CPU ms/msg | $(printf '%s' "${CPU[off]}" | stat3 3) | $(printf '%s' "${CPU[on]}" | stat3 3) | $(printf '%s' "${CPU[postfix]}" | stat3 3) |"
  echo
  echo "Acceptance with every check on: $(echo "$on / $off * 100" | bc -l | xargs printf '%.0f')% of the rate without (median to median);"
  echo "$(echo "$on / $pf" | bc -l | xargs printf '%.2f')× Postfix with the equivalent milters and policy service. Postfix's CPU includes its master's"
  echo "children (smtpd, cleanup, local, the spawned policyd-spf) and the opendkim and opendmarc processes."
  echo "Postern warmed with 20,000 messages per server, Postfix with 500."
} > "$out"
cat "$out"
