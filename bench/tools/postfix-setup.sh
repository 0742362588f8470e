# Sourced by the bench scripts: configures the machine's default Postfix instance like Postern (loopback
# only, relay to the sink, Maildir delivery for benchuser) and starts it. Needs SINK_HOST and SINK_PORT.
id benchuser >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin benchuser
postconf -e "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
  "myhostname = postfix.bench.test" "mydestination = bench.test" "home_mailbox = Maildir/" \
  "transport_maps =" "relayhost = [$SINK_HOST]:$SINK_PORT" \
  "maillog_file = /var/log/postfix-bench.log" "smtpd_client_connection_count_limit = 0" \
  "smtpd_client_connection_rate_limit = 0" "default_destination_concurrency_limit = 20" \
  "compatibility_level = 3.6" "alias_maps =" "alias_database ="
postfix start >/dev/null 2>&1 || postfix reload >/dev/null 2>&1
PF_MASTER=$(cat /var/spool/postfix/pid/master.pid | tr -d ' ')
