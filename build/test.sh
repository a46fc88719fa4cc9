#!/usr/bin/env bash
# Runs every test: provisions what is missing (engine, local registry, offline base images), builds, runs the unit and
# integration tests, checks that no test left a container, network or image behind, and prints "N passed, N failed" last.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash build/provision.sh || { echo "provisioning failed"; echo "0 passed, 1 failed"; exit 1; }

results="$root/artifacts/test-results"
rm -rf "$results"
export PROXYSTACK_TEST_MIRROR=${PROXYSTACK_TEST_MIRROR:-localhost:5000}
dotnet test Tasks.sln -nologo --results-directory "$results" --logger "trx" --logger "console;verbosity=normal" 2>&1 \
  | grep -vE '/reference:|^\s*$'
test_rc=${PIPESTATUS[0]}

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
[ "$passed" -gt 0 ] || { echo "no test results found"; failed=$((failed + 1)); }
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then echo "dotnet test failed before running tests (exit $test_rc)"; failed=$((failed + 1)); fi

# Leak check: every resource a test creates carries proxystack.stack=pst-…; none may survive the run.
leaks=$(curl -sf --unix-socket /var/run/docker.sock 'http://localhost/containers/json?all=1' | grep -o '"proxystack.stack":"pst-[^"]*"' | sort -u)
leaks+=$(curl -sf --unix-socket /var/run/docker.sock 'http://localhost/networks' | grep -o '"proxystack.stack":"pst-[^"]*"' | sort -u)
leaks+=$(curl -sf --unix-socket /var/run/docker.sock 'http://localhost/images/json?all=1' | grep -o '"proxystack.stack":"pst-[^"]*"' | sort -u)
if [ -n "$leaks" ]; then
  echo "leak check: resources left behind by tests:"; echo "$leaks"; failed=$((failed + 1))
else
  echo "leak check: no container, network or image left behind"; passed=$((passed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
