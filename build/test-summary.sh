#!/usr/bin/env bash
# Counts the TRX results in a folder and checks that no test left a container, network or image behind; prints
# "N passed, N failed, N skipped" last and exits non-zero on any failure. Used by build/test.sh; runnable on its own:
#   build/test-summary.sh artifacts/test-results [dotnet-test-exit-code]
# A skipped integration test, an integration project without results and an engine the leak check cannot ask are failures:
# build/test.sh provisions the engine, so none of them can be a pass.
set -uo pipefail
results=${1:?usage: test-summary.sh RESULTS_DIR [TEST_EXIT_CODE]}
test_rc=${2:-0}
socket=${PROXYSTACK_ENGINE_SOCKET:-/var/run/docker.sock}

passed=0; failed=0; skipped=0; integration_results=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  # xUnit's skipped tests are neither executed nor counted as notExecuted: skipped = total - executed (checked on a real TRX).
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters"); t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  s=$(( ${t:-0} - ${e:-0} ))
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + s))
  if grep -q 'ProxyStack.Integration.Tests' "$trx"; then
    integration_results=$((integration_results + ${e:-0}))
    if [ "$s" -gt 0 ]; then
      echo "integration tests skipped: $s (build/test.sh provisions an engine, so a skip is a failure):"
      grep -o '<UnitTestResult [^>]*outcome="NotExecuted"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/  \1/p'
      failed=$((failed + s))
    fi
  fi
done
[ "$passed" -gt 0 ] || { echo "no test results found"; failed=$((failed + 1)); }
[ "$integration_results" -gt 0 ] || { echo "the integration tests produced no results"; failed=$((failed + 1)); }
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then echo "dotnet test failed before running tests (exit $test_rc)"; failed=$((failed + 1)); fi

# Leak check, on every engine the tests use: every container, network and volume a test creates carries proxystack.stack=pst-… (images:
# proxystack.image-of=pst-…); none may
# survive the run. With PROXYSTACK_TEST_RUN set (build/test.sh sets it) only this run's stacks, pst-<tag>-…, count; test
# stacks of other runs are named but not counted. An engine that does not answer fails the check: an empty answer proves
# nothing.
mine="pst-${PROXYSTACK_TEST_RUN:+$PROXYSTACK_TEST_RUN-}"
# Every engine the tests use: Docker's socket, and Podman's where build/provision.sh started it (PodmanTests).
sockets=("$socket")
podman_socket=${PROXYSTACK_PODMAN_SOCKET:-/run/podman/podman.sock}
[ -S "$podman_socket" ] && sockets+=("$podman_socket")
# And rootless Docker's (RootlessTests).
rootless_socket=${PROXYSTACK_ROOTLESS_SOCKET:-/run/user/$(id -u proxystack-rootless 2>/dev/null || echo none)/docker.sock}
[ -S "$rootless_socket" ] && sockets+=("$rootless_socket")
for sock in "${sockets[@]}"; do
  engine_get() { curl -sf --max-time 10 --unix-socket "$sock" "http://localhost$1"; }
  if containers=$(engine_get '/containers/json?all=1') && networks=$(engine_get '/networks') && volumes=$(engine_get '/volumes') \
      && images=$(engine_get '/images/json?all=1'); then
    # A local stack's resources, a swarm stack's (its volumes and network), a written compose file's project, test images.
    all=$( (grep -oE '"(proxystack.stack|proxystack.swarm-stack|com.docker.compose.project)":"pst-[^"]*"' <<<"$containers$networks$volumes"
            grep -o '"proxystack.image-of":"pst-[^"]*"' <<<"$images") | sort -u)
    leaks=$(grep -F ":\"$mine" <<<"$all")
    others=$(grep -vF ":\"$mine" <<<"$all")
    [ -z "$others" ] || { echo "leak check ($sock): test stacks of another run are on this engine (not counted):"; echo "$others"; }
    if [ -n "$leaks" ]; then
      echo "leak check ($sock): resources left behind by tests:"; echo "$leaks"; failed=$((failed + 1))
    else
      echo "leak check ($sock): no container, network, volume or image left behind"; passed=$((passed + 1))
    fi
  else
    echo "leak check: the engine at $sock did not answer, so nothing was checked"; failed=$((failed + 1))
  fi
done

# The local registry too: StackDeploy pushes a test stack's app images there (repositories pst-…-app), and the test removes
# every tag it pushed (the repository's name stays in the catalog, with no tags). Only this run's stacks count.
registry=${PROXYSTACK_TEST_MIRROR:-localhost:5000}
if catalog=$(curl -sf --max-time 10 "http://$registry/v2/_catalog?n=1000"); then
  tagged=""
  for repo in $(grep -oE "\"$mine[^\"]*\"" <<<"$catalog" | tr -d '"'); do
    tags=$(curl -sf --max-time 10 "http://$registry/v2/$repo/tags/list" | grep -oE '"tags":\[[^]]+\]') && tagged+="$repo $tags"$'\n'
  done
  if [ -n "$tagged" ]; then
    echo "leak check ($registry): images left behind by tests:"; printf '%s' "$tagged"; failed=$((failed + 1))
  else
    echo "leak check ($registry): no image left behind"; passed=$((passed + 1))
  fi
else
  echo "leak check: the registry at $registry did not answer, so nothing was checked"; failed=$((failed + 1))
fi

# The temp folder too: a stack's lock (proxystack-<stack>.lock and its .holder) and its dotnet run registrations
# (proxystack-<stack>.runs) must be gone once its tests are (a SIGKILLed run's are removed by the next StackDown). Only this
# run's stacks count, as above.
tmp=${TMPDIR:-/tmp}
left=$(find "$tmp" -maxdepth 1 -name "proxystack-$mine*" 2>/dev/null | sort)
if [ -n "$left" ]; then
  echo "leak check ($tmp): files left behind by tests:"; echo "$left"; failed=$((failed + 1))
else
  echo "leak check ($tmp): no lock or run registration left behind"; passed=$((passed + 1))
fi

# Failed tests again, just above the last line, so a log that keeps only its tail still names them and why.
if [ "$failed" -gt 0 ]; then
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    # A TRX result is <UnitTestResult testName=… outcome="Failed"> … <Message>lines</Message><StackTrace>…; awk keeps
    # the name, the message's first 6 lines and its last 24 that are not a container's log line ("name | text"), and the
    # stack trace's first 3 lines plus up to 8 more in our own code (where it failed, for a failure seen only on a machine
    # we cannot reach, whose CI log may keep only its last 60 lines). A long message is a process's output, whose end says
    # how it ended: a CI failure of the watch test once showed only the bring-up. XML entities for < > & " are left as they
    # are: this is a pointer, not a report.
    awk '
      /<UnitTestResult / { failed = ($0 ~ /outcome="Failed"/); if (failed) { n = $0; sub(/.*testName="/, "", n); sub(/".*/, "", n); print "FAILED " n } }
      failed && /<Message>/ { inmsg = 1; lines = 0; kept = 0; skipped = 0; sub(/.*<Message>/, "") }
      inmsg {
        done = sub(/<\/Message>.*/, "")
        if (lines++ < 6) print "    " substr($0, 1, 300)
        else if ($0 ~ / \| /) skipped++
        else { tail[kept % 24] = $0; kept++ }
        if (done) {
          if (kept > 24 || skipped > 0) print "    … (" (lines - 6 - (kept < 24 ? kept : 24)) " lines left out, " skipped " of them container log lines) …"
          for (i = (kept > 24 ? kept - 24 : 0); i < kept; i++) print "    " substr(tail[i % 24], 1, 300)
          inmsg = 0; intrace = 2
        }
        next
      }
      intrace == 2 && /<StackTrace>/ { intrace = 1; lines = 0; ours = 0; sub(/.*<StackTrace>/, "") }
      intrace == 1 {
        done = sub(/<\/StackTrace>.*/, "")
        if (lines++ < 3 || ($0 ~ /ProxyStack/ && ours++ < 8)) print "      " substr($0, 1, 300)
        if (done) { intrace = 0; failed = 0 }
      }
      /<\/UnitTestResult>/ { intrace = 0; failed = 0 }
    ' "$trx"
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
