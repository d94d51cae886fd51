#!/usr/bin/env bash
# Installs (from Debian's packages, when missing) and starts what the suite needs on this
# machine: PostgreSQL and Redis on 127.0.0.1, and Chromium for the browser tests.
# Idempotent: a second run finds everything up and does nothing. Needs root for apt-get.
#
# PostgreSQL: local TCP connections from 127.0.0.1/::1 are trusted (a development and CI
# machine only), so the suite connects as postgres://postgres@127.0.0.1:5432/<db>.
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
{ command -v pg_ctlcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; } || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
if [ ! -f "/etc/postgresql/$pg_version/main/pg_hba.conf" ]; then
  log "creating the PostgreSQL $pg_version cluster 'main'"
  pg_createcluster "$pg_version" main >/dev/null
fi
hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
if ! grep -q '^# todo: trust local TCP' "$hba"; then
  log "PostgreSQL $pg_version: trusting TCP connections from this machine"
  tmp=$(mktemp)
  {
    echo '# todo: trust local TCP (development and CI machine; see .ci/services.sh)'
    echo 'host    all             all             127.0.0.1/32            trust'
    echo 'host    all             all             ::1/128                 trust'
    cat "$hba"
  } > "$tmp"
  cat "$tmp" > "$hba" && rm -f "$tmp"
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL $pg_version"
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
for db in test todo; do
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    log "creating database $db"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  fi
done

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 60); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
log "PostgreSQL and Redis are up on 127.0.0.1; Chromium is $(command -v chromium)"
