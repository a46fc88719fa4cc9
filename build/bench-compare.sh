#!/usr/bin/env bash
# ProxyStack against the alternatives, on this machine, in one run: the recipe by hand (raw docker CLI), docker-compose, .NET
# Aspire (an AppHost, build/bench-aspire/) and ProxyStack (StackUp and dotnet run). Sourced by build/bench.sh after the inner-loop figures; expects $work/HelloStack,
# $stack, $out, $runs and the helpers defined there (now, since, record, first_200, stop_group). Every method brings up the same stack: N replicas of the HelloStack app
# image behind nginx on a user-defined bridge network, the proxy published on loopback; ready = first 200 through nginx.
# Each run goes through N = 1, 4, 16 and, for each N, through every method in an order rotated run by run. At N = 4 the
# raw CLI, compose and StackUp stacks also get their redeploy under load before they are torn down.
set -euo pipefail

appimg="$stack:latest"
nginx_img="localhost:5000/library/nginx:stable"
raw_port=18490; cmp_port=18491; direct_port=18492; naive_port=18493; asp_port=18494
sock() { curl -sf --unix-socket /var/run/docker.sock "$@"; }
config_for() { # n -> configs equivalent to ProxyStack's for containers raw-app-<i> and cmp-app-<i> (generated, nothing started)
  dotnet build -t:GenerateStackProxyConfig "${props[@]}" "-p:StackReplicas=$1" >/dev/null
  for prefix in raw cmp asp; do
    sed -e "s/$stack-app-/$prefix-app-/g" -e 's/max_fails=3/max_fails=0/' "$work/HelloStack/obj/Debug/net10.0/stack/nginx.conf" >"$work/$prefix-$1.conf"
  done
}
# nginx with a config of ProxyStack's, started as ProxyStack starts it: first the resolver line the config includes (Docker's
# DNS on a user-defined network), then nginx.
proxy_start='mkdir -p /run/proxystack && echo "resolver 127.0.0.11 valid=1s ipv6=off;" > /run/proxystack/resolver.conf && exec nginx -c /etc/proxystack/nginx.conf -g "daemon off;"'
# The same start as a compose service line (for the compose files here and in bench-app.sh).
compose_entrypoint() { printf '    entrypoint: ["sh", "-c", "%s"]\n' "${proxy_start//\"/\\\"}"; }
proxy_run() { # name network port config
  docker run -d --name "$1" --network "$2" -p "127.0.0.1:$3:8080" -v "$4:/etc/proxystack/nginx.conf:ro" \
    --entrypoint sh "$nginx_img" -c "$proxy_start" >/dev/null
}

raw_up() { # n
  docker network create raw-net >/dev/null
  for i in $(seq "$1"); do docker run -d --name "raw-app-$i" --network raw-net --restart unless-stopped "$appimg" >/dev/null; done
  proxy_run raw-proxy raw-net "$raw_port" "$work/raw-$1.conf"
  first_200 "$raw_port"
}
# raw_every_replica N: after raw_up, waits until each of its N replicas answers 200 itself (asked at its address on raw-net,
# one after another, so the wait ends with the slowest): the raw recipe brought to what a returned StackUp guarantees, every
# replica serving. Its nginx already has every name (the replicas run before it starts), so this is a floor for that, not
# through nginx, where one replica's answers at 20/s would take up to N requests to meet.
raw_every_replica() {
  local ip
  for ip in $(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $(seq -f 'raw-app-%g' "$1")); do
    first_200 "$ip:8080"
  done
}
raw_down() { for c in $(docker ps -aq --filter name='^raw-'); do docker rm -f "$c" >/dev/null; done; docker network rm raw-net >/dev/null 2>&1 || true; }
raw_redeploy() { for i in 1 2 3 4; do docker rm -f "raw-app-$i" >/dev/null; docker run -d --name "raw-app-$i" --network raw-net --restart unless-stopped "$appimg" >/dev/null; done; }

compose_file() { # n
  { echo "version: '3.8'"; echo "services:"
    for i in $(seq "$1"); do printf '  app-%s:\n    image: %s\n    container_name: cmp-app-%s\n    restart: unless-stopped\n    networks: [net]\n' "$i" "$appimg" "$i"; done
    printf '  proxy:\n    image: %s\n    container_name: cmp-proxy\n' "$nginx_img"; compose_entrypoint
    printf '    ports: ["127.0.0.1:%s:8080"]\n    volumes: ["%s:/etc/proxystack/nginx.conf:ro"]\n    networks: [net]\n' "$cmp_port" "$work/cmp-$1.conf"
    printf '    depends_on: [%s]\n' "$(seq -s, -f 'app-%g' "$1")"
    printf 'networks:\n  net: {}\n'
  } >"$work/compose-$1.yml"
}
cmp_up() { docker-compose -p benchcmp -f "$work/compose-$1.yml" up -d >/dev/null 2>&1; first_200 "$cmp_port"; }
cmp_down() { docker-compose -p benchcmp -f "$work/compose-$1.yml" down >/dev/null 2>&1; }
cmp_redeploy() { docker-compose -p benchcmp -f "$work/compose-4.yml" up -d --force-recreate app-1 app-2 app-3 app-4 >/dev/null 2>&1; }

# Aspire: the AppHost run as a developer runs it (dotnet run, here of the build made once), stopped with SIGTERM as an IDE
# stops it; its orchestrator (DCP) removes the containers and the session network on the way out. It has no rolling
# replacement: a redeploy is the AppHost stopped and started again with the new image.
asp_dir="$work/aspire"
asp_prepare() { mkdir -p "$asp_dir"; cp "$root/build/bench-aspire/"* "$asp_dir/"; dotnet build "$asp_dir" -nologo -v:q >/dev/null; }
asp_up() { # n
  BENCH_N=$1 BENCH_IMAGE=$appimg BENCH_NGINX=$nginx_img BENCH_PORT=$asp_port BENCH_CONF="$work/asp-$1.conf" BENCH_PROXY_START=$proxy_start \
    setsid dotnet run --no-build --project "$asp_dir" >"$work/asp.log" 2>&1 & echo $! >"$work/asp.pid"; echo "$1" >"$work/asp.n"
  first_200 "$asp_port"
}
asp_down() {
  local pid; pid=$(cat "$work/asp.pid")
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  for _ in $(seq 600); do [ "$(leftovers asp-)" = 0 ] && [ "$(leftovers aspire-session)" = 0 ] && return 0; sleep 0.05; done
}
asp_redeploy() { asp_down; asp_up "$(cat "$work/asp.n")"; }

ps_up() { up "$1"; first_200 "$port"; }
ps_down() { dotnet build -t:StackDown "${props[@]}" >/dev/null; }
ps_redeploy() { dotnet build -t:StackUp "${props[@]}" -p:StackReplicas=4 "-p:BenchGeneration=$1" >/dev/null; }
run_up() { # n: dotnet run until the first 200
  setsid dotnet run --no-launch-profile "-p:StackName=$stack" "-p:StackHostPort=$port" "-p:StackReplicas=$1" >"$work/run.log" 2>&1 & local pid=$!
  first_200 "$port"; echo "$pid" >"$work/run.pid"
}
# SIGTERM, as a service manager or an IDE stops a run (a script's background jobs ignore SIGINT), once the foreground
# process runs (a stop between the bring-up and that moment leaves the stack to the next run).
run_down() {
  local pid; pid=$(cat "$work/run.pid")
  for _ in $(seq 600); do grep -q "press Ctrl-C" "$work/run.log" && break; sleep 0.05; done
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

leftovers() { # name prefix -> containers + networks whose name starts with it
  local f="%7B%22name%22%3A%5B%22%5E$1%22%5D%7D"
  echo $(( $(sock "http://localhost/containers/json?all=1&filters=$f" | { grep -o '"Id"' || true; } | wc -l) \
         + $(sock "http://localhost/networks?filters=$f" | { grep -o '"Id"' || true; } | wc -l) ))
}

# Redeploy under load: wrk from 0.5 s before the redeploy until 0.5 s after it; every non-2xx answer and every socket error
# (connect, read, write, timeout) counts as a failed request. wrk, unlike browsers and HttpClient, never retries.
under_load() { # method port run [key: what the figures are recorded as; the method by default]
  local k=${4:-$1}
  wrk -t2 -c16 -d600s "http://127.0.0.1:$2/" >"$work/wrk.out" 2>&1 & local w=$!
  sleep 0.5
  local t; t=$(now); "${1}_redeploy" "$3"; record "redeploy-$k" "$(since "$t")"
  sleep 0.5; kill -INT "$w"; wait "$w" || true
  local non2xx errors
  non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {gsub(",",""); print $4, $6, $8, $10}' "$work/wrk.out"); errors=${errors:-0 0 0 0}
  read -r connect readerr write timeout <<<"$errors"
  record "non2xx-$k" "$non2xx"; record "connect-$k" "$connect"; record "read-$k" "$readerr"; record "write-$k" "$write"; record "timeout-$k" "$timeout"
  record "fail-$k" $(( non2xx + connect + readerr + write + timeout ))
  record "rps-redeploy-$k" "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")"
  grep -q "requests in" "$work/wrk.out" || { echo "wrk printed no result" >&2; cat "$work/wrk.out" >&2; return 1; }
}

if part compare fixed; then
echo "comparison: configs and compose files" >&2
for n in 1 4 16; do config_for "$n"; compose_file "$n"; done
ps_down

# BENCH_ONLY=fixed: only what issue 17's fixed-cost targets compare (the raw CLI floor, StackUp, dotnet run), no redeploys.
if [ "${BENCH_ONLY:-}" = fixed ]; then methods=(raw ps run); else asp_prepare; methods=(raw cmp asp ps run); fi
for run in $(seq "$runs"); do
  echo "comparison: run $run of $runs" >&2
  order=("${methods[@]:$(( (run - 1) % ${#methods[@]} ))}" "${methods[@]:0:$(( (run - 1) % ${#methods[@]} ))}")
  for n in 1 4 16; do
    for m in "${order[@]}"; do
      t=$(now); "${m}_up" "$n"; record "up-$m-$n" "$(since "$t")"
      if [ "$m" = raw ]; then raw_every_replica "$n"; record "up-rawall-$n" "$(since "$t")"; fi
      if [ "$n" = 4 ] && [ "$m" != run ] && [ "${BENCH_ONLY:-}" != fixed ]; then
        case $m in raw) p=$raw_port ;; cmp) p=$cmp_port ;; asp) p=$asp_port ;; *) p=$port ;; esac
        under_load "$m" "$p" "$run"
      fi
      t=$(now); "${m}_down" "$n"; record "down-$m-$n" "$(since "$t")"
      case $m in raw) p=raw- ;; cmp) p=benchcmp ;; asp) p=asp- ;; *) p="$stack-" ;; esac
      case $m in
        cmp) record "left-$m-$n" $(( $(leftovers cmp-) + $(leftovers benchcmp) )) ;;
        asp) record "left-$m-$n" $(( $(leftovers asp-) + $(leftovers aspire-session) )) ;;
        *) record "left-$m-$n" "$(leftovers "$p")" ;;
      esac
    done
  done
done
fi

# Proxy throughput (BENCH_ONLY=proxy: this alone): direct, the stack's proxy, a naive nginx and variants of the stack's config.
if part compare proxy; then
echo "comparison: proxy throughput" >&2
docker network create raw-net >/dev/null
docker run -d --name raw-app-1 --network raw-net -p "127.0.0.1:$direct_port:8080" "$appimg" >/dev/null
# The naive recipe: plain proxy_pass, no upstream block, no keepalive (paths as ProxyStack's, so it runs unprivileged too).
cat >"$work/naive.conf" <<'NGINX'
pid /tmp/nginx.pid;
error_log stderr warn;
events {}
http {
    access_log /dev/stdout;
    client_body_temp_path /tmp/cb; proxy_temp_path /tmp/pt; fastcgi_temp_path /tmp/ft; uwsgi_temp_path /tmp/ut; scgi_temp_path /tmp/st;
    server { listen 8080; location / { proxy_pass http://raw-app-1:8080; } }
}
NGINX
proxy_run raw-naive raw-net "$naive_port" "$work/naive.conf"
ps_up 1
# Variants of ProxyStack's own config, one change each, beside it on the stack's network (they resolve the same replica):
# what each tuning knob is worth here. Removed before the stack goes down, which needs its network free.
docker exec "$stack-proxy" cat /run/proxystack/nginx.conf >"$work/ps.conf"
# "copy" changes nothing: the baseline for the others (same way of running as theirs, unlike the stack's own proxy).
variants=(
  "copy:s|^||"
  "logeach:s|access_log /dev/stdout proxystack buffer=64k flush=1s\([^;]*\);|access_log /dev/stdout proxystack\1;|"
  "logprobes:s| if=\$proxystack_logged;|;|"
  "nolog:s|access_log /dev/stdout proxystack buffer=64k flush=1s[^;]*;|access_log off;|"
  "buffering:s|proxy_buffering off;|proxy_buffering on;|"
  "workers1:s|worker_processes auto;|worker_processes 1;|"
  "nokeepalive:s|keepalive 32;||"
)
variant_port=18500
for v in "${variants[@]}"; do
  name=${v%%:*}; sed "${v#*:}" "$work/ps.conf" >"$work/var-$name.conf"
  [ "$name" = copy ] || ! cmp -s "$work/ps.conf" "$work/var-$name.conf" || { echo "variant $name changed nothing" >&2; exit 1; }
  proxy_run "raw-var-$name" "$stack-net" "$variant_port" "$work/var-$name.conf"; first_200 "$variant_port"
  variant_port=$((variant_port + 1))
done
first_200 "$direct_port"; first_200 "$naive_port"
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
for run in $(seq "$runs"); do
  targets=(direct:$direct_port proxystack:$port naive:$naive_port); p=18500
  for v in "${variants[@]}"; do targets+=("var-${v%%:*}:$p"); p=$((p + 1)); done
  for target in "${targets[@]}"; do
    wrk -t2 -c32 -d3s --latency "http://127.0.0.1:${target##*:}/" >"$work/wrk.out"
    record "rps-${target%%:*}" "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")"
    record "p50-${target%%:*}" "$(awk '/ 50%/ {print $2}' "$work/wrk.out" | ms)"
  done
done
for v in "${variants[@]}"; do docker rm -f "raw-var-${v%%:*}" >/dev/null; done
raw_down; ps_down
fi

# Docker Desktop's topology (build/provision.sh with PROXYSTACK_TOPOLOGY=desktop: no userland proxy, no route from the host to
# container addresses, so readiness goes through the probe relay): a warm StackUp of 4 replicas and a redeploy under load,
# beside the same figures on the default engine, in this run. The engine is restarted between the two and restored after.
# Podman (rootful, its Docker-compatible service; build/provision.sh sets it up) is measured the same way, with the app image
# loaded by the SDK's LocalRegistry=Podman.
if part desktop; then
  for topo in linux desktop podman; do
    echo "engine: $topo" >&2
    PROXYSTACK_TOPOLOGY=${topo/podman/linux} bash "$root/build/provision.sh" >/dev/null 2>&1
    saved_props=("${props[@]}")
    [ "$topo" = podman ] && { export DOCKER_HOST=unix://$podman_socket; props+=(-p:LocalRegistry=Podman); up 4 >/dev/null; ps_down; }
    for run in $(seq "$runs"); do
      t=$(now); ps_up 4; record "topo-up-$topo" "$(since "$t")"
      under_load ps "$port" "topo-$run" "topo-$topo"
      ps_down
    done
    props=("${saved_props[@]}"); unset DOCKER_HOST
  done
fi
