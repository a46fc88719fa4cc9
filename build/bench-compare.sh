#!/usr/bin/env bash
# ProxyStack against the alternatives, on this machine, in one run: the recipe by hand (raw docker CLI), docker-compose, and
# ProxyStack (StackUp and dotnet run). Called by build/bench.sh after the inner-loop figures; expects $work/HelloStack,
# $stack, $out and the helpers defined there. Every method brings up the same stack: N replicas of the HelloStack app image
# behind nginx on a user-defined bridge network, the proxy published on loopback; ready = first 200 through nginx.
set -euo pipefail

compare_runs=${BENCH_COMPARE_RUNS:-$runs}
appimg="$stack:latest"
nginx_img="localhost:5000/library/nginx:stable"
raw_port=18490; cmp_port=18491; direct_port=18492; naive_port=18493
dk() { docker "$@" >/dev/null 2>&1 || true; }
first_200() { for _ in $(seq 2400); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/")" = 200 ] && return 0; sleep 0.05; done; echo "no 200 on $1" >&2; return 1; }
config_for() { # prefix n -> a config equivalent to ProxyStack's, for containers <prefix>-app-<i>
  up "$2" && sed -e "s/$stack-app-/$1-app-/g" -e 's/max_fails=3/max_fails=0/' "$work/HelloStack/obj/Debug/net10.0/stack/nginx.conf" >"$work/$1-$2.conf"
}
proxy_run() { # name network port config [extra args]
  docker run -d --name "$1" --network "$2" -p "127.0.0.1:$3:8080" -u 65534:65534 -v "$4:/etc/proxystack/nginx.conf:ro" \
    "$nginx_img" nginx -c /etc/proxystack/nginx.conf -g 'daemon off;' >/dev/null
}

raw_up() { # n
  docker network create raw-net >/dev/null
  for i in $(seq "$1"); do docker run -d --name "raw-app-$i" --network raw-net --restart unless-stopped "$appimg" >/dev/null; done
  proxy_run raw-proxy raw-net "$raw_port" "$work/raw-$1.conf"
  first_200 "$raw_port"
}
raw_down() { for c in $(docker ps -aq --filter name='^raw-'); do docker rm -f "$c" >/dev/null; done; dk network rm raw-net; }

compose_file() { # n
  { echo "version: '3.8'"; echo "services:"
    for i in $(seq "$1"); do printf '  app-%s:\n    image: %s\n    container_name: cmp-app-%s\n    restart: unless-stopped\n    networks: [net]\n' "$i" "$appimg" "$i"; done
    printf '  proxy:\n    image: %s\n    container_name: cmp-proxy\n    user: "65534:65534"\n    command: ["nginx", "-c", "/etc/proxystack/nginx.conf", "-g", "daemon off;"]\n' "$nginx_img"
    printf '    ports: ["127.0.0.1:%s:8080"]\n    volumes: ["%s:/etc/proxystack/nginx.conf:ro"]\n    networks: [net]\n' "$cmp_port" "$work/cmp-$1.conf"
    printf '    depends_on: [%s]\n' "$(seq -s, -f 'app-%g' "$1")"
    printf 'networks:\n  net: {}\n'
  } >"$work/compose-$1.yml"
}
cmp_up() { docker-compose -p benchcmp -f "$work/compose-$1.yml" up -d >/dev/null 2>&1; first_200 "$cmp_port"; }
cmp_down() { docker-compose -p benchcmp -f "$work/compose-$1.yml" down >/dev/null 2>&1; }

ps_up() { up "$1"; first_200 "$port"; }
ps_down() { dotnet build -t:StackDown "${props[@]}" >/dev/null; }
run_up() { # n: dotnet run until the first 200, then Ctrl-C (which removes the stack)
  setsid dotnet run --no-launch-profile "-p:StackName=$stack" "-p:StackHostPort=$port" "-p:StackReplicas=$1" >"$work/run.log" 2>&1 & local pid=$!
  first_200 "$port"; echo "$pid" >"$work/run.pid"
}
# SIGTERM, as a service manager or an IDE stops a run (a script's background jobs ignore SIGINT).
# Stopped once its foreground process runs (a stop between the bring-up and that moment leaves the stack to the next run).
run_down() {
  local pid; pid=$(cat "$work/run.pid")
  for _ in $(seq 600); do grep -q "press Ctrl-C" "$work/run.log" && break; sleep 0.05; done
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

leftovers() { # name-prefix
  echo $(( $(docker ps -aq --filter "name=^$1" | wc -l) + $(docker network ls -q --filter "name=^$1" | wc -l) ))
}

echo "comparison: preparing configs and compose files" >&2
for n in 1 4 16; do config_for raw "$n"; config_for cmp "$n"; compose_file "$n"; done
ps_down

for run in $(seq "$compare_runs"); do
  for n in 1 4 16; do
    for m in raw cmp ps run; do
      t=$(now); "${m}_up" "$n"; record "up-$m-$n" "$(since "$t")"
      t=$(now); "${m}_down" "$n"; record "down-$m-$n" "$(since "$t")"
      case $m in raw) p=raw- ;; cmp) p=cmp- ;; *) p="$stack-" ;; esac
      record "left-$m-$n" "$(leftovers "$p")"
    done
  done
done

echo "comparison: proxy throughput" >&2
wrk_rps() { wrk -t2 -c32 -d10s "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'; }
wrk_lat() { wrk -t2 -c32 -d10s --latency "http://127.0.0.1:$1/" | awk '/ 50%/ {print $2}'; }
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
first_200 "$direct_port"; first_200 "$naive_port"
for run in $(seq "$compare_runs"); do
  for target in direct:$direct_port proxystack:$port naive:$naive_port; do
    record "rps-${target%%:*}" "$(wrk_rps "${target##*:}")"
  done
done
for target in direct:$direct_port proxystack:$port naive:$naive_port; do record "p50-${target%%:*}" "$(wrk_lat "${target##*:}")"; done
raw_down; ps_down

echo "comparison: failed requests during a redeploy under load" >&2
wrk_failures() { # port seconds -> non-2xx + socket errors
  wrk -t2 -c16 -d"$2s" "http://127.0.0.1:$1/" | awk '/Non-2xx/ {n+=$5} /Socket errors/ {gsub(",","");n+=$4+$6+$8+$10} END {print n+0}'
}
for run in $(seq "$compare_runs"); do
  ps_up 3
  wrk_failures "$port" 30 >"$work/wrk.out" & w=$!
  sleep 2; sed -i "s|app.MapGet(\"/\", () => \"[^\"]*\"|app.MapGet(\"/\", () => \"redeploy $run $RANDOM\\\\n\"|" "$work/HelloStack/Program.cs"; up 3
  wait "$w"; record fail-proxystack "$(cat "$work/wrk.out")"
  cmp_up 4
  wrk_failures "$cmp_port" 20 >"$work/wrk.out" & w=$!
  sleep 2; docker-compose -p benchcmp -f "$work/compose-4.yml" up -d --force-recreate app-1 app-2 app-3 app-4 >/dev/null 2>&1
  wait "$w"; record fail-compose "$(cat "$work/wrk.out")"; cmp_down 4
  raw_up 4
  wrk_failures "$raw_port" 20 >"$work/wrk.out" & w=$!
  sleep 2; for i in 1 2 3 4; do docker rm -f "raw-app-$i" >/dev/null; docker run -d --name "raw-app-$i" --network raw-net "$appimg" >/dev/null; done
  wait "$w"; record fail-raw "$(cat "$work/wrk.out")"; raw_down
done
ps_down
