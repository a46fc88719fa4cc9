#!/usr/bin/env bash
# Inner-loop benchmarks of ProxyStack on this machine, N runs each (default 5), printed as a Markdown table with median,
# min and max; raw numbers go to artifacts/bench/. Provisions what it needs, works on a copy of samples/HelloStack, and
# removes everything it started (by label) when it ends, even on failure.
#   build/bench.sh [runs]          (BENCH_COMPARE_RUNS=n sets the runs of the comparison with compose and the raw CLI)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
bash "$root/build/provision.sh" >&2
# The comparison needs Debian's docker-compose and wrk.
for pkg in docker-compose wrk; do dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }; done
started=$(date +%s)
out="$root/artifacts/bench"; mkdir -p "$out"; rm -f "$out"/*.txt
work=$(mktemp -d /tmp/proxystack-bench-XXXX)
stack="bench-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=18480
cleanup() {
  for id in $(curl -sf --unix-socket /var/run/docker.sock "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
    curl -sf -X DELETE --unix-socket /var/run/docker.sock "http://localhost/containers/$id?force=1" >/dev/null || true; done
  curl -sf -X DELETE --unix-socket /var/run/docker.sock "http://localhost/networks/$stack-net" >/dev/null || true
  for img in "$stack:latest" "proxystack/$stack-proxy:latest"; do curl -sf -X DELETE --unix-socket /var/run/docker.sock "http://localhost/images/$img?force=1" >/dev/null || true; done
  docker rm -f $(docker ps -aq --filter name='^raw-' --filter name='^cmp-') >/dev/null 2>&1 || true
  docker network rm raw-net benchcmp_net >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cp -r "$root/samples/HelloStack" "$work/HelloStack"; rm -rf "$work/HelloStack/bin" "$work/HelloStack/obj"
printf '<Project><PropertyGroup>\n  <ProxyStackSdkDir>%s/src/Sdk/Sdk/</ProxyStackSdkDir>\n  <StackTasksAssembly>%s/src/Tasks/bin/Release/net10.0/ProxyStack.Tasks.dll</StackTasksAssembly>\n</PropertyGroup></Project>\n' \
  "$root" "$root" >"$work/Directory.Build.props"
dotnet build "$root/src/Tasks" -c Release -nologo -v:q >&2
cd "$work/HelloStack"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1 StackRegistryMirror=localhost:5000
props=(-nologo -v:m -tl:off -nr:false "-p:StackName=$stack" "-p:StackHostPort=$port" "-p:StackRegistryMirror=localhost:5000")
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
record() { echo "$2" >>"$out/$1.txt"; }
stat() { sort -n "$out/$1.txt" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f | %.2f | %.2f", m, a[1], a[NR]}'; }
ids() { curl -sf --unix-socket /var/run/docker.sock "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | grep -o '"Id":"[0-9a-f]*"' | sort | tr -d '\n'; }
count() { curl -sf --unix-socket /var/run/docker.sock "http://localhost/$1?all=1&filters=%7B%22label%22%3A%5B%22proxystack.stack%3D$stack%22%5D%7D" | { grep -o "\"$2\"" || true; } | wc -l; }
up() { dotnet build -t:StackUp "${props[@]}" "-p:StackReplicas=$1" >/dev/null; }

echo "warming up (first build, images, stack)" >&2
dotnet build "${props[@]}" >/dev/null
up 3

# BENCH_ONLY=compare skips the inner-loop figures (to debug the comparison quickly).
[ "${BENCH_ONLY:-}" = compare ] || {
for i in $(seq "$runs"); do
  t=$(now); dotnet build "${props[@]}" >/dev/null; record plain-build "$(since "$t")"
  before=$(ids)
  t=$(now); up 3; record noop-stackup "$(since "$t")"
  [ "$before" = "$(ids)" ] || { echo "no-op StackUp changed a container" >&2; exit 1; }
done

for i in $(seq "$runs"); do
  text="edit $i $RANDOM"
  t=$(now)
  sed -i "s|app.MapGet(\"/\", () => \"[^\"]*\"|app.MapGet(\"/\", () => \"$text\\\\n\"|" Program.cs
  up 3 & pid=$!
  served=""
  for _ in $(seq 1200); do [ "$(curl -s "http://127.0.0.1:$port/")" = "$text" ] && { served=$(since "$t"); break; }; sleep 0.05; done
  wait "$pid"
  [ -n "$served" ] || { echo "new text never served" >&2; exit 1; }
  record edit-to-served "$served"; record edit-to-stackup-returned "$(since "$t")"
done

for i in $(seq "$runs"); do
  echo "// publish-only run $i" >>Program.cs
  t=$(now); dotnet publish -t:PublishContainer "${props[@]}" "-p:ContainerRepository=$stack" -p:ContainerImageTag=publishonly \
    -p:ContainerBaseImage=localhost:5000/dotnet/aspnet:10.0 "-p:ContainerLabel=" >/dev/null; record publish-container-only "$(since "$t")"
done
curl -sf -X DELETE --unix-socket /var/run/docker.sock "http://localhost/images/$stack:publishonly" >/dev/null || true

for n in 1 4 16; do
  dotnet build -t:StackDown "${props[@]}" >/dev/null
  up "$n"
  for i in $(seq "$runs"); do
    dotnet build -t:StackDown "${props[@]}" >/dev/null
    t=$(now); up "$n"; record "warm-stackup-$n" "$(since "$t")"
  done
  t=$(now); dotnet build -t:StackDown "${props[@]}" >/dev/null; record "teardown-$n" "$(since "$t")"
  left=$(( $(count containers/json Id) + $(count networks Id) ))
  record "left-after-teardown-$n" "$left"
done

}
source "$root/build/bench-compare.sh"

ratio() { awk -v a="$(stat "$1" | cut -d'|' -f1)" -v b="$(stat "$2" | cut -d'|' -f1)" 'BEGIN { printf "%.2f", a / b }'; }
machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), .NET SDK $(dotnet --version), Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), docker-compose $(docker-compose version --short 2>/dev/null), $runs runs each (comparison: ${compare_runs:-$runs}), $(( ($(date +%s) - started) / 60 )) min in all"
echo "Machine: $machine"
echo
cat <<MD
| Figure (seconds) | median | min | max |
| --- | --- | --- | --- |
| plain \`dotnet build\`, nothing changed | $(stat plain-build) |
| no-op \`dotnet build -t:StackUp\`, 3 replicas running, nothing changed | $(stat noop-stackup) |
| edit-to-served: edit Program.cs, \`StackUp\`, first response with the new text (3 replicas, rolling) | $(stat edit-to-served) |
| edit to \`StackUp\` returned (old replicas drained and removed) | $(stat edit-to-stackup-returned) |
| \`dotnet publish -t:PublishContainer\` alone after an edit (reference) | $(stat publish-container-only) |
| warm \`StackUp\`, images built, nothing running, 1 replica | $(stat warm-stackup-1) |
| warm \`StackUp\`, 4 replicas | $(stat warm-stackup-4) |
| warm \`StackUp\`, 16 replicas | $(stat warm-stackup-16) |
| \`StackDown\`, 1 / 4 / 16 replicas (one run each) | $(cat "$out/teardown-1.txt") / $(cat "$out/teardown-4.txt") / $(cat "$out/teardown-16.txt") |
| resources left after \`StackDown\` (1 / 4 / 16) | $(cat "$out/left-after-teardown-1.txt") / $(cat "$out/left-after-teardown-4.txt") / $(cat "$out/left-after-teardown-16.txt") |

Warm stack-up, first 200 through nginx (seconds, median / min / max; ratio = median ÷ raw CLI median):

| N | raw CLI | docker-compose | ProxyStack \`StackUp\` | ProxyStack \`dotnet run\` |
| --- | --- | --- | --- | --- |
MD
for n in 1 4 16; do
  echo "| $n | $(stat "up-raw-$n" | tr -d ' ' | tr '|' '/') | $(stat "up-cmp-$n" | tr -d ' ' | tr '|' '/') (×$(ratio "up-cmp-$n" "up-raw-$n")) | $(stat "up-ps-$n" | tr -d ' ' | tr '|' '/') (×$(ratio "up-ps-$n" "up-raw-$n")) | $(stat "up-run-$n" | tr -d ' ' | tr '|' '/') (×$(ratio "up-run-$n" "up-raw-$n")) |"
done
cat <<MD

Teardown (seconds, median) and resources left after it (all runs):

| N | raw CLI | docker-compose | ProxyStack \`StackDown\` | ProxyStack Ctrl-C on \`dotnet run\` |
| --- | --- | --- | --- | --- |
MD
for n in 1 4 16; do
  row="| $n"; for m in raw cmp ps run; do row+=" | $(stat "down-$m-$n" | cut -d'|' -f1 | tr -d ' ') s, left $(awk "{s+=\$1} END {print s+0}" "$out/left-$m-$n.txt")"; done; echo "$row |"
done
cat <<MD

| Proxy throughput (wrk -t2 -c32 -d10s) | requests/s median / min / max | p50 latency |
| --- | --- | --- |
| direct to one replica (published only for this) | $(stat rps-direct | tr -d " " | tr "|" "/") | $(cat "$out/p50-direct.txt") |
| through ProxyStack's nginx (1 replica) | $(stat rps-proxystack | tr -d " " | tr "|" "/") (×$(ratio rps-proxystack rps-direct) of direct) | $(cat "$out/p50-proxystack.txt") |
| through a naive nginx (plain proxy_pass, no upstream keepalive) | $(stat rps-naive | tr -d " " | tr "|" "/") (×$(ratio rps-naive rps-direct) of direct) | $(cat "$out/p50-naive.txt") |

| Failed requests during a redeploy under load (wrk -t2 -c16; non-2xx + socket errors) | median / min / max |
| --- | --- |
| ProxyStack rolling replacement (code change, \`StackUp\`, 3 replicas) | $(stat fail-proxystack | tr -d " " | tr "|" "/") |
| \`docker-compose up -d --force-recreate\` (4 replicas) | $(stat fail-compose | tr -d " " | tr "|" "/") |
| raw CLI \`docker rm -f\` + \`docker run\` per replica (4 replicas) | $(stat fail-raw | tr -d " " | tr "|" "/") |
MD
