#!/usr/bin/env bash
# Every check and test careclock has. Needs Go, PostgreSQL from Debian's package for the
# production-topology tests (deploy/topology), Chromium for the report page (report/), and
# Node.js with npm for the event contract's check (contract/check); each is installed here when
# missing and apt-get can.
# The linters come from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local

step() { printf '\n== %s\n' "$*"; }

step "PostgreSQL for the production-topology tests"
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "deploy/topology needs PostgreSQL: sudo apt-get install postgresql"; exit 1
  fi
fi
ls -d /usr/lib/postgresql/*/bin

step "Chromium, for the report page's rendering test (report/)"
if ! command -v chromium >/dev/null && [ -z "${CARECLOCK_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "report/ renders its page in Chromium: sudo apt-get install chromium (or set CARECLOCK_CHROMIUM)"; exit 1
  fi
fi

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "workflowcheck (determinism of workflow code)"
go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./...

step "production binaries do not link the Temporal server"
if go list -deps ./worker ./starter | grep '^go.temporal.io/server'; then
  echo "worker or starter imports the Temporal server (only devstack may)"; exit 1
fi

step "the Temporal servers (careclock's and the stock one) and the SQL tool build from this module"
go build ./temporal-server go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql

step "the event contract as a downstream team reads it: AsyncAPI parser and Modelina (contract/check)"
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "contract/check needs Node.js 18 or later and npm: sudo apt-get install nodejs npm"; exit 1
  fi
fi
channels=$(( $(ls contract/schemas/inbound/*.json contract/schemas/journeys/*.json | wc -l) + 1 )) # and the dead letters
(cd contract/check && npm ci --silent --no-audit --no-fund && node check.mjs ../asyncapi.yaml "$channels")

step "go test"
# The fault tests in devstack/stack and deploy/topology (cluster rows) append their figures
# here; printed below.
report=$(mktemp)
trap 'rm -f "$report"' EXIT
CARECLOCK_RELIABILITY_REPORT=$report go test -count=1 -timeout 30m ./...

step "reliability figures (docs/reliability.md)"
echo "| scenario | inbound sent | distinct | applied | dead-lettered | applied twice | lost | journey events expected | published once | duplicated | missing |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$report"

step "bench smoke run (20 workflows; the real run is go run ./bench, see docs/performance.md)"
bench_out=$(mktemp -d)
go run ./bench -n 20 -scale 100 -scenarios starts,ingest,cost,scale -stock=false -out "$bench_out" 2>/dev/null
rm -rf "$bench_out"

step "go test -race (packages without the embedded servers)"
go test -count=1 -race ./activities/... ./codecserver/... ./rules/... ./events/... ./privacy/... ./workflows/... ./listener/... ./starter/... ./metrics/... ./config/... ./connect/...

step "fuzz the event decoder, 500,000 inputs (seeds: samples/ and events/testdata/fuzz)"
# A count, not a duration: Go 1.26's fuzz coordinator can fail a duration-bounded run with a bare
# "context deadline exceeded" at the deadline (golang/go#75804, fixed in Go 1.27).
go test -run '^$' -fuzz FuzzDecode -fuzztime 500000x ./events
