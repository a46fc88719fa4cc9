#!/usr/bin/env bash
# Runs every test: provisions what is missing (engine, local registry, offline base images), builds, runs the unit and
# integration tests, then build/test-summary.sh counts the results (a skipped engine test is a failure here) and checks that
# no test left a container, network or image behind. The last line is "N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash build/provision.sh || { echo "provisioning failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

results="$root/artifacts/test-results"
rm -rf "$results"
export PROXYSTACK_TEST_MIRROR=${PROXYSTACK_TEST_MIRROR:-localhost:5000}
# This run's tag goes into every integration test's stack name (pst-<tag>-…), so the leak check counts what this run left
# and not what an earlier, killed run (or one running beside it on the same engine) did.
export PROXYSTACK_TEST_RUN=${PROXYSTACK_TEST_RUN:-r$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
# Builds share one compiler server, as on a developer's machine (some CI images turn it off), and most tests' builds the
# MSBuild server (tests/Integration.Tests/Infrastructure/Cli.cs says which); all are stopped afterwards, so the run leaves
# no process behind.
export UseSharedCompilation=true
# Built first, then tested with --no-build: inside one `dotnet test` the unit tests' build of ProxyStack.Tasks queues on the
# MSBuild node that built it for the integration tests, which is busy running them, so the unit tests ran only after the
# integration tests had ended (1.1 min on top, measured 2026-12-06 21:44-22:12). Tested with --no-build, both projects'
# tests run side by side.
quiet() { grep -vE '/reference:|^\s*$'; }
dotnet build Tasks.sln -nologo 2>&1 | quiet
test_rc=${PIPESTATUS[0]}
if [ "$test_rc" -eq 0 ]; then
  dotnet test Tasks.sln -nologo --no-build --results-directory "$results" --logger "trx" --logger "console;verbosity=normal" 2>&1 | quiet
  test_rc=${PIPESTATUS[0]}
fi
dotnet build-server shutdown > /dev/null 2>&1 || true
exec bash build/test-summary.sh "$results" "$test_rc"
