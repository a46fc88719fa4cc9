#!/usr/bin/env bash
# ProxyStack's benchmarks on this machine, in one run: the inner loop (no-op StackUp, edit-to-served), then the comparison
# with docker-compose and the raw docker CLI (build/bench-compare.sh: warm stack-up and teardown at N = 1, 4, 16, redeploy
# under load, proxy throughput). Every figure is measured [runs] times (default 5) and printed as Markdown with median, min
# and max; raw numbers go to artifacts/bench/. Provisions what it needs, works on a copy of samples/HelloStack, and removes
# everything it started (by label and by name) when it ends, even on failure.
#   build/bench.sh [runs]          BENCH_ONLY=compare: only the comparison; BENCH_ONLY=desktop: only the engine figures
#                                  (stack-up and redeploy on the default engine, in Docker Desktop's topology and on Podman);
#                                  BENCH_ONLY=watch: only edit-to-served under dotnet watch; BENCH_ONLY=app: only the
#                                  whole application (front, API, Redis) against docker-compose; BENCH_ONLY=swarm: only
#                                  StackDeploy on a single-node swarm beside StackUp; BENCH_ONLY=proxy: only the proxy
#                                  throughput (direct, the stack's nginx, a naive nginx, variants of the stack's config);
#                                  BENCH_ONLY=fixed: the inner loop (dotnet watch included) and warm stack-up of the raw
#                                  CLI, StackUp and dotnet run, with issue 17's fixed-cost targets computed from this run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
# part NAME...: whether this run measures a part named NAME (every part without BENCH_ONLY; with no NAME, only then).
part() { [ -z "${BENCH_ONLY:-}" ] && return 0; local p; for p; do [ "$BENCH_ONLY" = "$p" ] && return 0; done; return 1; }
begun=$(date +%s)
bash "$root/build/provision.sh" >&2
# The comparison needs Debian's docker-compose and wrk; the package is unpacked with unzip.
for pkg in docker-compose wrk unzip; do dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }; done
started=$(date +%s)
out="$root/artifacts/bench"; mkdir -p "$out"; rm -f "$out"/*.txt
work=$(mktemp -d /tmp/proxystack-bench-XXXX)
stack="bench-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=18480
podman_socket=/run/podman/podman.sock
# Removes the benchmark's stack from the engine at socket $1: its containers by label, its network, its key ring (which
# outlives StackDown by design; the benchmark's own goes with it) and its images.
clean_stack() {
  for id in $(curl -sf --unix-socket "$1" "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
    curl -sf -X DELETE --unix-socket "$1" "http://localhost/containers/$id?force=1" >/dev/null || true; done
  for path in "networks/$stack-net" "volumes/$stack-keys" "volumes/$stack-cache-data" "images/$stack:latest?force=1" "images/$stack-api:latest?force=1" "images/proxystack/$stack-proxy:latest?force=1"; do
    curl -sf -X DELETE --unix-socket "$1" "http://localhost/$path" >/dev/null || true; done
}
cleanup() {
  # An Aspire AppHost of the comparison still running (a failed run) goes first: its orchestrator removes its containers.
  [ -f "$work/asp.pid" ] && { kill -TERM "$(cat "$work/asp.pid")" 2>/dev/null || true; sleep 3; }
  clean_stack /var/run/docker.sock
  # The engine figures also run the stack on Podman.
  [ -S "$podman_socket" ] && clean_stack "$podman_socket"
  docker rm -f $(docker ps -aq --filter name='^raw-' --filter name='^cmp-' --filter name='^bapp-' --filter name='^asp-') >/dev/null 2>&1 || true
  docker network rm $(docker network ls -q --filter name='^aspire-session') >/dev/null 2>&1 || true
  docker network rm raw-net benchcmp_net benchapp_net >/dev/null 2>&1 || true
  docker volume rm benchapp_cache-data >/dev/null 2>&1 || true
  rm -rf "$work"
  # The topology figures restart the engine into Docker Desktop's topology: never leave it there.
  bash "$root/build/provision.sh" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cp -r "$root/samples/HelloStack" "$work/HelloStack"; rm -rf "$work/HelloStack/bin" "$work/HelloStack/obj" "$work/HelloStack/Api/bin" "$work/HelloStack/Api/obj"
# BenchGeneration: a replica setting the redeploy comparison changes, so ProxyStack replaces every replica with the same
# image, as `docker-compose up --force-recreate` and the raw CLI's rm + run do.
cat >"$work/Directory.Build.props" <<PROPS
<Project>
  <PropertyGroup>
    <ProxyStackSdkDir>$work/sdk/Sdk/</ProxyStackSdkDir>
    <StackTasksAssembly>$work/sdk/tasks/net10.0/ProxyStack.Tasks.dll</StackTasksAssembly>
  </PropertyGroup>
  <!-- The sample's API project and Redis only in the whole-application figures (bench-app.sh), which pass them true. -->
  <PropertyGroup>
    <HelloStackCache Condition="'\$(HelloStackCache)' == ''">false</HelloStackCache>
    <HelloStackApi Condition="'\$(HelloStackApi)' == ''">false</HelloStackApi>
  </PropertyGroup>
  <ItemGroup><StackEnvironment Include="BENCH_GENERATION" Value="\$(BenchGeneration)" /></ItemGroup>
</Project>
PROPS
# What users get: the SDK package as build/pack.sh makes it (its tasks precompiled for linux-x64), unpacked.
bash "$root/build/pack.sh" 0.0.0-bench "$work/package" >&2
unzip -q "$work/package/ProxyStack.Sdk.0.0.0-bench.nupkg" 'Sdk/*' 'tasks/*' -d "$work/sdk"
cd "$work/HelloStack"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1 StackRegistryMirror=localhost:5000
props=(-nologo -v:m -tl:off -nr:false "-p:StackName=$stack" "-p:StackHostPort=$port" "-p:StackRegistryMirror=localhost:5000")
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
record() { echo "$2" >>"$out/$1.txt"; }
# poll PORT status|body TEXT: asks http://127.0.0.1:PORT/ (http://HOST:PORT/ where PORT is HOST:PORT) 20 times a second
# until an answer's status, or a line of its body, ends with TEXT; fails after 2400 requests (about 2 minutes). One curl
# over one kept-alive connection, read with bash builtins (the status from curl's stderr, which is not buffered), instead
# of a curl forked per request: that loop's CPU ran beside whatever it timed — an edit's compile and PublishContainer ran
# ~1 s slower under it (2026-12-04) — and `dotnet run` builds while it is polled.
poll() {
  local line fd curl ok=1 at=$1
  [[ $at == *:* ]] || at=127.0.0.1:$at
  if [ "$2" = status ]; then
    exec {fd}< <(curl -s --max-time 2 --rate 20/s -o /dev/null -w '%{stderr}%{http_code}\n' "http://$at/?[1-2400]" 2>&1 >/dev/null)
  else
    exec {fd}< <(curl -sN --max-time 2 --rate 20/s "http://$at/?[1-2400]")
  fi
  curl=$!
  while IFS= read -r -u "$fd" line; do [[ $line == *"$3" ]] && { ok=0; break; }; done
  kill "$curl" 2>/dev/null || true; exec {fd}<&-
  return "$ok"
}
# first_200 PORT: waits until http://127.0.0.1:PORT/ answers 200.
first_200() { poll "$1" status 200 || { echo "no 200 on $1" >&2; return 1; }; }
# stop_group PID: SIGTERM to the process group a setsid'd command leads, then waits for it.
stop_group() { kill -TERM -- "-$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
stat() { sort -n "$out/$1.txt" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f | %.2f | %.2f", m, a[1], a[NR]}'; }
ids() { curl -sf --unix-socket /var/run/docker.sock "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | grep -o '"Id":"[0-9a-f]*"' | sort | tr -d '\n'; }
count() { curl -sf --unix-socket /var/run/docker.sock "http://localhost/$1?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | { grep -o "\"$2\"" || true; } | wc -l; }
up() { dotnet build -t:StackUp "${props[@]}" "-p:StackReplicas=$1" >/dev/null; }
# served_within PORT TEXT START: seconds from START (a `now`) until http://127.0.0.1:PORT/ answers TEXT (a line).
served_within() { poll "$1" body "$2" && awk -v a="$3" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
# The edit of the edit-to-served figures: the sample's "/" answers $1 (and a line break) from now on.
set_text() { sed -i "s|app.MapGet(\"/\", () => \"[^\"]*\"|app.MapGet(\"/\", () => \"$1\\\\n\"|" Program.cs; }

echo "warming up (first build, images, stack)" >&2
up 3

# Edit-to-served under `dotnet watch --no-hot-reload run` (the stack stays up; each saved change rebuilds the image and
# replaces the replicas rolling), beside StackUp's own edit-to-served below. Properties as environment variables: dotnet
# watch reads -p as --project. Ended by SIGKILL of its process group: the reaper then removes the stack, as it does when
# watch ends however it ends. watch_edits METRIC [WATCH OPTION...]: records into METRIC; `watch_edits watch-hr-edit-to-served`
# measures plain `dotnet watch run` (Hot Reload: each run ends after its bring-up, and watch builds before each run).
watch_edits() {
  local metric=$1; shift
  StackName=$stack StackHostPort=$port DOTNET_WATCH_SUPPRESS_LAUNCH_BROWSER=1 setsid dotnet watch "$@" run \
    </dev/null >"$work/watch.log" 2>&1 &
  local watch=$! i text t served ready="press Ctrl-C"
  # With Hot Reload the run ends after its bring-up, and watch notices a save only once it says it waits for one.
  [ $# -eq 0 ] && ready="Waiting for a file to change"
  for _ in $(seq 1800); do grep -q "$ready" "$work/watch.log" && break; sleep 0.1; done
  grep -q "$ready" "$work/watch.log" || { echo "dotnet watch did not bring the stack up" >&2; kill -9 -- "-$watch"; exit 1; }
  for i in $(seq "$runs"); do
    text="watch $i $RANDOM"
    t=$(now)
    set_text "$text"
    served=$(served_within "$port" "$text" "$t") || { echo "dotnet watch never served the new text" >&2; kill -9 -- "-$watch"; exit 1; }
    record "$metric" "$served"
    # The next edit once this restart's run is up (it prints its URL line once the rolling replacement returned).
    for _ in $(seq 1800); do [ "$(grep -c "$ready" "$work/watch.log")" -gt "$i" ] && break; sleep 0.1; done
  done
  kill -9 -- "-$watch" 2>/dev/null || true
  for _ in $(seq 100); do [ "$(count containers/json Id)" -eq 0 ] && break; sleep 0.1; done
}
if [ "${BENCH_ONLY:-}" = watch ]; then
  watch_edits watch-edit-to-served --no-hot-reload
  watch_edits watch-hr-edit-to-served
  echo "| edit-to-served under \`dotnet watch --no-hot-reload run\` (3 replicas, rolling; the stack stays up) | $(stat watch-edit-to-served) |"
  echo "| edit-to-served under plain \`dotnet watch run\` (Hot Reload; each run ends after its bring-up) | $(stat watch-hr-edit-to-served) |"
  exit 0
fi

# BENCH_ONLY skips the inner-loop figures (BENCH_ONLY=fixed keeps them, dotnet watch's included: its target's reference,
# PublishContainer alone, is measured here).
part fixed && {
for i in $(seq "$runs"); do
  t=$(now); dotnet build "${props[@]}" >/dev/null; record plain-build "$(since "$t")"
  before=$(ids)
  t=$(now); up 3; record noop-stackup "$(since "$t")"
  [ "$before" = "$(ids)" ] || { echo "no-op StackUp changed a container" >&2; exit 1; }
done

# What `dotnet run` itself costs, without a stack: the app run plainly on the host (StackRunHook=false) until its first 200,
# beside `dotnet build` and then the built app started directly (the same work without dotnet run's protocol).
# (Its own port: bench-compare.sh's are 18490-18494.)
app_port=18495
for i in $(seq "$runs"); do
  t=$(now); setsid dotnet run --no-launch-profile -p:StackRunHook=false "-p:StackName=$stack" -- --urls "http://127.0.0.1:$app_port" >"$work/plain-run.log" 2>&1 & pid=$!
  first_200 "$app_port"; record plain-run "$(since "$t")"; stop_group "$pid"
  t=$(now); dotnet build "${props[@]}" >/dev/null; setsid dotnet bin/Debug/net10.0/HelloStack.dll --urls "http://127.0.0.1:$app_port" >"$work/plain-app.log" 2>&1 & pid=$!
  first_200 "$app_port"; record build-then-app "$(since "$t")"; stop_group "$pid"
done

for i in $(seq "$runs"); do
  echo "// publish-only run $i" >>Program.cs
  t=$(now); dotnet publish -t:PublishContainer "${props[@]}" "-p:ContainerRepository=$stack" -p:ContainerImageTag=publishonly \
    -p:ContainerBaseImage=localhost:5000/dotnet/aspnet:10.0 "-p:ContainerLabel=" >/dev/null; record publish-container-only "$(since "$t")"
done
# The edits of the publish-only runs reach the stack with the first edit-to-served run below.
curl -sf -X DELETE --unix-socket /var/run/docker.sock "http://localhost/images/$stack:publishonly" >/dev/null || true

for i in $(seq "$runs"); do
  text="edit $i $RANDOM"
  t=$(now)
  set_text "$text"
  up 3 & pid=$!
  served=$(served_within "$port" "$text" "$t") || served=""
  wait "$pid"
  [ -n "$served" ] || { echo "new text never served" >&2; exit 1; }
  record edit-to-served "$served"; record edit-to-stackup-returned "$(since "$t")"
done
watch_edits watch-edit-to-served --no-hot-reload
up 3

}
source "$root/build/bench-compare.sh"
part app && source "$root/build/bench-app.sh"
part swarm && source "$root/build/bench-swarm.sh"

ratio() { awk -v a="$(stat "$1" | cut -d'|' -f1)" -v b="$(stat "$2" | cut -d'|' -f1)" 'BEGIN { printf "%.2f", a / b }'; }
slash() { stat "$1" | tr -d ' ' | tr '|' '/'; }
total() { awk '{s+=$1} END {print s+0}' "$out/$1.txt"; }
machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), .NET SDK $(dotnet --version), Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), docker-compose $(docker-compose version --short 2>/dev/null), nginx $(docker run --rm localhost:5000/library/nginx:stable nginx -v 2>&1 | sed 's|.*/||'), $runs runs of every figure, $(awk -v b="$begun" -v s="$started" -v e="$(date +%s)" 'BEGIN { printf "%.1f min in all, %.1f of them after provisioning", (e - b) / 60, (e - s) / 60 }')"
echo "Machine: $machine"
echo
if part fixed; then
cat <<MD
| Inner loop (seconds) | median | min | max |
| --- | --- | --- | --- |
| plain \`dotnet build\`, nothing changed | $(stat plain-build) |
| no-op \`dotnet build -t:StackUp\`, 3 replicas running, nothing changed | $(stat noop-stackup) |
| edit-to-served: edit Program.cs, \`StackUp\`, first response with the new text (3 replicas, rolling) | $(stat edit-to-served) |
| edit to \`StackUp\` returned (old replicas drained and removed) | $(stat edit-to-stackup-returned) |
| \`dotnet publish -t:PublishContainer\` alone after an edit (reference) | $(stat publish-container-only) |
| plain \`dotnet run\` of the app on the host, no stack (\`StackRunHook=false\`): first 200 | $(stat plain-run) |
| \`dotnet build\`, then the built app started directly: first 200 (the same work without \`dotnet run\`) | $(stat build-then-app) |
MD
echo "| edit-to-served under \`dotnet watch --no-hot-reload run\` (3 replicas, rolling; the stack stays up) | $(stat watch-edit-to-served) |"
fi
if part fixed; then
# Issue 17's fixed-cost targets, every figure from this run (medians).
med() { stat "$1" | cut -d'|' -f1 | tr -d ' '; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%s", (a <= b) ? "met" : "missed" }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
cat <<MD

| Fixed cost (medians of this run, seconds) | ProxyStack | target | met? |
| --- | --- | --- | --- |
MD
for n in 1 4 16; do
  bound=$(sum "$(med plain-build)" "$(med "up-raw-$n")")
  echo "| warm \`StackUp\` at N = $n ≤ plain \`dotnet build\` + raw CLI floor | $(med "up-ps-$n") | $(med plain-build) + $(med "up-raw-$n") = $bound | $(verdict "$(med "up-ps-$n")" "$bound") |"
done
bound=$(sum "$(med plain-build)" 0.3)
echo "| no-op \`StackUp\` ≤ plain \`dotnet build\` + 0.3 s | $(med noop-stackup) | $(med plain-build) + 0.3 = $bound | $(verdict "$(med noop-stackup)" "$bound") |"
bound=$(sum "$(med publish-container-only)" 2)
echo "| edit-to-served ≤ \`PublishContainer\` alone + 2 s | $(med edit-to-served) | $(med publish-container-only) + 2 = $bound | $(verdict "$(med edit-to-served)" "$bound") |"
echo "| edit-to-served under \`dotnet watch\` ≤ \`PublishContainer\` alone + 2 s | $(med watch-edit-to-served) | $(med publish-container-only) + 2 = $bound | $(verdict "$(med watch-edit-to-served)" "$bound") |"
for n in 1 4 16; do
  bound=$(sum "$(med "up-ps-$n")" 0.5)
  echo "| \`dotnet run\` first 200 at N = $n ≤ \`StackUp\` + 0.5 s | $(med "up-run-$n") | $(med "up-ps-$n") + 0.5 = $bound | $(verdict "$(med "up-run-$n")" "$bound") |"
done
cat <<MD

The same warm \`StackUp\` beside the raw CLI brought to what a returned \`StackUp\` guarantees — every replica answering, not
the first 200 (the raw recipe's replicas asked at their addresses once its nginx answered; not one of the issue's targets):

| Same guarantee (medians of this run, seconds) | ProxyStack | plain \`dotnet build\` + raw CLI until every replica answers | within? |
| --- | --- | --- | --- |
MD
for n in 1 4 16; do
  bound=$(sum "$(med plain-build)" "$(med "up-rawall-$n")")
  echo "| warm \`StackUp\` at N = $n | $(med "up-ps-$n") | $(med plain-build) + $(med "up-rawall-$n") = $bound | $(awk -v a="$(med "up-ps-$n")" -v b="$bound" 'BEGIN { printf "%s by %.2f", (a <= b) ? "within" : "over", (a <= b) ? b - a : a - b }') |"
done
echo
echo "\`dotnet run\`'s own cost over \`dotnet build\` and a direct start, without a stack (medians): $(med plain-run) − $(med build-then-app) = $(awk -v a="$(med plain-run)" -v b="$(med build-then-app)" 'BEGIN { printf "%.2f", a - b }') s."

fi
if [ "${BENCH_ONLY:-}" = fixed ]; then
cat <<MD

Warm stack-up, images built, nothing running; ready = first 200 through nginx (seconds, median/min/max):

| N | raw CLI | raw CLI, every replica answering | ProxyStack \`StackUp\` | ProxyStack \`dotnet run\` |
| --- | --- | --- | --- | --- |
MD
for n in 1 4 16; do echo "| $n | $(slash "up-raw-$n") | $(slash "up-rawall-$n") | $(slash "up-ps-$n") | $(slash "up-run-$n") |"; done
fi
if part compare; then
cat <<MD
Warm stack-up, images built, nothing running; ready = first 200 through nginx (seconds, median/min/max; ratio = median ÷ raw CLI median):

| N | raw CLI | raw CLI, every replica answering | docker-compose | .NET Aspire (AppHost \`dotnet run\`) | ProxyStack \`StackUp\` | ProxyStack \`dotnet run\` |
| --- | --- | --- | --- | --- | --- | --- |
MD
for n in 1 4 16; do
  row="| $n | $(slash "up-raw-$n") | $(slash "up-rawall-$n") (×$(ratio "up-rawall-$n" "up-raw-$n"))"; for m in cmp asp ps run; do row+=" | $(slash "up-$m-$n") (×$(ratio "up-$m-$n" "up-raw-$n"))"; done; echo "$row |"
done
cat <<MD

Teardown (seconds, median/min/max) and resources left after it (containers + networks, summed over all runs):

| N | raw CLI | docker-compose | .NET Aspire SIGTERM to the AppHost | ProxyStack \`StackDown\` | ProxyStack SIGTERM to \`dotnet run\` |
| --- | --- | --- | --- | --- | --- |
MD
for n in 1 4 16; do
  row="| $n"; for m in raw cmp asp ps run; do row+=" | $(slash "down-$m-$n"), left $(total "left-$m-$n")"; done; echo "$row |"
done
fi
if part compare proxy; then
cat <<MD

| Proxy throughput (wrk -t2 -c32 -d3s, 1 replica) | requests/s median/min/max | p50 latency median/min/max (ms) |
| --- | --- | --- |
| direct to the replica (published only for this) | $(slash rps-direct) | $(slash p50-direct) |
| through ProxyStack's nginx | $(slash rps-proxystack) (×$(ratio rps-proxystack rps-direct) of direct) | $(slash p50-proxystack) |
| through a naive nginx (plain proxy_pass, no upstream keepalive) | $(slash rps-naive) (×$(ratio rps-naive rps-direct) of direct) | $(slash p50-naive) |
| ProxyStack's config unchanged, run like the variants below (their baseline) | $(slash rps-var-copy) (×$(ratio rps-var-copy rps-direct) of direct) | $(slash p50-var-copy) |
| ProxyStack's config, access log written line by line (unbuffered, the default until 2026-12-01) | $(slash rps-var-logeach) (×$(ratio rps-var-logeach rps-direct) of direct) | $(slash p50-var-logeach) |
| ProxyStack's config, probe requests logged too (no \`if=\` on the access log, as before 2026-12-06) | $(slash rps-var-logprobes) (×$(ratio rps-var-logprobes rps-direct) of direct) | $(slash p50-var-logprobes) |
| ProxyStack's config, no access log | $(slash rps-var-nolog) (×$(ratio rps-var-nolog rps-direct) of direct) | $(slash p50-var-nolog) |
| ProxyStack's config, proxy_buffering on | $(slash rps-var-buffering) (×$(ratio rps-var-buffering rps-direct) of direct) | $(slash p50-var-buffering) |
| ProxyStack's config, worker_processes 1 | $(slash rps-var-workers1) (×$(ratio rps-var-workers1 rps-direct) of direct) | $(slash p50-var-workers1) |
| ProxyStack's config, no upstream keepalive | $(slash rps-var-nokeepalive) (×$(ratio rps-var-nokeepalive rps-direct) of direct) | $(slash p50-var-nokeepalive) |
MD
fi
if part compare; then
cat <<MD

| Redeploy of 4 replicas under load (wrk -t2 -c16, from 0.5 s before until 0.5 s after) | failed requests median/min/max | non-2xx, all runs | socket errors, all runs (connect/read/write/timeout) | redeploy seconds median | requests/s during it, median |
| --- | --- | --- | --- | --- | --- |
MD
for m in ps:"ProxyStack rolling replacement (a replica setting changed, \`StackUp\`)" cmp:"\`docker-compose up -d --force-recreate\`" asp:".NET Aspire: the AppHost stopped and started again (it has no rolling replacement)" raw:"raw CLI \`docker rm -f\` + \`docker run\`, one replica after another"; do
  k=${m%%:*}
  echo "| ${m#*:} | $(slash "fail-$k") | $(total "non2xx-$k") | $(total "connect-$k")/$(total "read-$k")/$(total "write-$k")/$(total "timeout-$k") | $(stat "redeploy-$k" | cut -d'|' -f1 | tr -d ' ') | $(stat "rps-redeploy-$k" | cut -d'|' -f1 | tr -d ' ') |"
done
fi
if part app; then
cat <<MD

The whole application — the sample's front project (3 replicas), its API (\`StackProject\`, 2 replicas at /api) and Redis
(\`StackContainer\`, its volume kept) behind one nginx — warm, images built, nothing running; ready = the first 200 on both / and
/api (seconds, median/min/max; resources left after teardown: containers + networks, summed over all runs):

| | docker-compose (a compose file written for the benchmark, same images and nginx config) | ProxyStack |
| --- | --- | --- |
| warm stack-up | $(slash app-up-cmp) | $(slash app-up-ps) (×$(ratio app-up-ps app-up-cmp) of compose) |
| teardown (\`docker-compose down\` / \`StackDown\`) | $(slash app-down-cmp), left $(total app-left-cmp) | $(slash app-down-ps), left $(total app-left-ps) |
MD
fi
if part swarm; then
cat <<MD

Docker Swarm beside this machine's engine: the sample with 3 replicas (no API, no Redis) by \`StackUp\` and by \`StackDeploy
-p:StackTarget=swarm\` on a single-node swarm of the same engine (images built, nothing running, registry localhost:5000), in
the same run (seconds median/min/max):

| | \`StackUp\` (this engine) | \`StackDeploy\` (swarm) |
| --- | --- | --- |
| warm up to the first 200 through nginx | $(slash sw-up-local) | $(slash sw-up-swarm) |
| rolling redeploy of every replica under load (wrk -t2 -c16), to the command's return | $(slash redeploy-sw-local) | $(slash redeploy-sw-swarm) |
| failed requests during it, all runs (non-2xx + socket errors) | $(total fail-sw-local) | $(total fail-sw-swarm) |
| of which non-2xx / connect / read / write / timeout | $(total non2xx-sw-local) / $(total connect-sw-local) / $(total read-sw-local) / $(total write-sw-local) / $(total timeout-sw-local) | $(total non2xx-sw-swarm) / $(total connect-sw-swarm) / $(total read-sw-swarm) / $(total write-sw-swarm) / $(total timeout-sw-swarm) |
| requests/s during it, median | $(stat rps-redeploy-sw-local | cut -d'|' -f1 | tr -d ' ') | $(stat rps-redeploy-sw-swarm | cut -d'|' -f1 | tr -d ' ') |
| teardown (\`StackDown\`) | $(slash sw-down-local) | $(slash sw-down-swarm) |
MD
fi
if part desktop; then
cat <<MD

Engines (4 replicas): the default engine; Docker Desktop's topology (the engine without its userland proxy and the host
without a route to container addresses, so replicas are probed through the relay); Podman (rootful, \`LocalRegistry=Podman\`);
in the same run (seconds median/min/max):

| | default engine | Docker Desktop's topology | Podman |
| --- | --- | --- | --- |
| warm \`StackUp\` to the first 200 through nginx | $(slash topo-up-linux) | $(slash topo-up-desktop) | $(slash topo-up-podman) |
| rolling redeploy under load (wrk -t2 -c16) | $(slash redeploy-topo-linux) | $(slash redeploy-topo-desktop) | $(slash redeploy-topo-podman) |
| failed requests during it, all runs (non-2xx + socket errors) | $(total fail-topo-linux) | $(total fail-topo-desktop) | $(total fail-topo-podman) |
| requests/s during it, median | $(stat rps-redeploy-topo-linux | cut -d'|' -f1 | tr -d ' ') | $(stat rps-redeploy-topo-desktop | cut -d'|' -f1 | tr -d ' ') | $(stat rps-redeploy-topo-podman | cut -d'|' -f1 | tr -d ' ') |
MD
fi
