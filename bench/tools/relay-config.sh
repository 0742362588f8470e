# Sourced by the bench scripts. relay_config DATA_DIR POSTERN_PORT SINK_HOST SINK_PORT prints the Postern
# configuration they share: domain bench.test, loopback may relay, room for many connections, and mail
# for sink.test relayed to the smtp-sink. A script appends its own tables after it.
relay_config() {
  cat <<TOML
hostname = "postern.bench.test"
data_dir = "$1"
domains = ["bench.test"]
relay_networks = ["127.0.0.0/8"]
[listeners.smtp]
bind = "127.0.0.1:$2"
kind = "smtp"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
[transport]
"sink.test" = "smtp:[$3]:$4"
TOML
}
