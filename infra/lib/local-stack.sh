# shellcheck shell=bash disable=SC2034  # variables for the scripts that source this
# Shared by infra/local-up, infra/local-down and infra/tests/run: where the local AWS lives
# and how to tell whether what we started is still running. Source it; it defines no side
# effects beyond variables and functions.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache_dir="$repo_root/.cache"
venv_dir="$cache_dir/localstack-venv"
state_dir="$cache_dir/local-stack"
log_dir="$state_dir/logs"

localstack_port=${SWITCHYARD_LOCALSTACK_PORT:-4566}
dynamodb_port=${SWITCHYARD_DYNAMODB_PORT:-8000}
localstack_container=switchyard-localstack

# What each recorded process must be running, so that a reused pid is never taken for ours.
declare -A process_pattern=([localstack]=localstack.runtime.main [dynamodb]=DynamoDBLocal.jar)

say() { printf 'local-stack: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The pid recorded in $state_dir/NAME.pid, if that process is alive and still ours.
live_pid() {
  local file="$state_dir/$1.pid" pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && grep -qaF "${process_pattern[$1]}" "/proc/$pid/cmdline" 2>/dev/null &&
    echo "$pid"
}

# Stop what local-up started as NAME: politely, then for good. local-up starts each server
# with setsid, so its pid is also its session: the sweep takes what the server left behind
# (Lambda bootstraps run in LocalStack's session) and nothing else.
stop_recorded() {
  local name=$1 pid
  if pid=$(live_pid "$name"); then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do
      live_pid "$name" >/dev/null || break
      sleep 0.1
    done
    pkill -KILL -s "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do # gone (zombies aside), ports released, before a restart
      # shellcheck disable=SC2009  # pgrep cannot leave zombies out
      ps -o stat= -s "$pid" | grep -qv '^Z' || break
      sleep 0.1
    done
    say "stopped $name (pid $pid)"
  fi
  rm -f "$state_dir/$name.pid"
}

localstack_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$localstack_port/_localstack/health" >/dev/null 2>&1
}

# DynamoDB Local checks that a request is SigV4-shaped but not the signature itself.
dynamodb_healthy() {
  curl -fsS --max-time 2 -X POST "http://127.0.0.1:$dynamodb_port/" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' >/dev/null 2>&1
}
