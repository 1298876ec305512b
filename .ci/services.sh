#!/usr/bin/env bash
# Starts the local services the tests use when they are not running —
# PostgreSQL, Redis and MariaDB, with this machine's own commands — then
# waits until each answers on the address the tests use by default
# (see test/fixtures/test-stores.ts). Safe to run when they already run.
# Also checks that redis-server is installed here, even when the shared
# Redis runs elsewhere: the cache fault tests start Redis servers of their
# own (test/fixtures/redis-server.ts), and fail under CI=true without it.
#
#   .ci/services.sh          start what is missing, wait up to 60 s for each
#
# Exits non-zero, naming the service, when one does not answer in time.
set -uo pipefail

postgres_answers() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
mariadb_answers() {
  mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1
}

start_postgres() {
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}
start_redis() {
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_mariadb() {
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}

services=(postgres redis mariadb)

for service in "${services[@]}"; do
  if "${service}_answers"; then
    echo "services: $service is running"
  else
    echo "services: starting $service"
    # A start that fails shows in the wait below, with the service's name.
    "start_${service}" || true
  fi
done

failed=0
if command -v "${BACKJOB_TEST_REDIS_SERVER:-redis-server}" >/dev/null; then
  echo "services: redis-server is installed"
else
  echo "services: redis-server is not installed; the cache fault tests start their own. Install it (apt-get install redis-server) or set BACKJOB_TEST_REDIS_SERVER to its path." >&2
  failed=1
fi
for service in "${services[@]}"; do
  for _ in $(seq 1 120); do
    "${service}_answers" && break
    sleep 0.5
  done
  if "${service}_answers"; then
    echo "services: $service answers"
  else
    echo "services: $service does not answer after 60 s" >&2
    failed=1
  fi
done
exit "$failed"
