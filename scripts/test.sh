#!/usr/bin/env bash
# The test run behind `make test`: system packages, loopback services, ruff, import layers, pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# Debian packages the tests use (PostgreSQL is handled by scripts/postgres.sh).
if [ -f scripts/apt-packages.txt ]; then
  missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < scripts/apt-packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "warning: missing Debian packages (tests needing them will skip): ${missing[*]}" >&2
    fi
  fi
fi

ARENALENS_TEST_POSTGRES_URL="$(scripts/postgres.sh start)" || { echo "could not start PostgreSQL" >&2; exit 1; }
export ARENALENS_TEST_POSTGRES_URL
trap 'scripts/postgres.sh stop' EXIT
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

$BIN/ruff check . || exit 1
$BIN/ruff format --check . || exit 1
# the import layers and no cycles (contracts in pyproject.toml [tool.importlinter])
$BIN/lint-imports --no-cache || exit 1
# The everyday run leaves out tests marked slow (browser journeys, Ray, the LLM server, the
# 200-simulation coverage check) and stays under 15 minutes on 2 cores; CI runs every test
# (`.ci/run` sets ARENALENS_TEST_ALL=1; so does a CI environment's CI=true).
if [ "${ARENALENS_TEST_ALL:-}" = 1 ] || [ "${CI:-}" = true ]; then
  echo "pytest: every test, slow ones included"
  $BIN/pytest "$@"
else
  echo "pytest: tests not marked slow (ARENALENS_TEST_ALL=1 make test runs them all)"
  $BIN/pytest -m "not slow" "$@"
fi
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit $rc
