#!/usr/bin/env bash
# The grown sample as one application — the front project (3 replicas), its API (a StackProject, 2 replicas at /api) and
# Redis (a StackContainer with a volume) behind one nginx — against the same stack in docker-compose, in one run. Sourced by
# build/bench.sh; expects $work/HelloStack, $stack, $port, $props, $runs and the helpers defined there.
# ProxyStack: warm StackUp (images built, nothing running; the Redis volume kept from the run before), ready = the first 200
# on both / and /api through nginx, then StackDown. compose: a compose file written for the benchmark with the same
# containers (the images StackUp built, Redis with its volume, nginx with the config ProxyStack generated, its names
# rewritten), `docker-compose up -d` until the same two answers, then `docker-compose down`.
set -euo pipefail

app_props=("${props[@]}" -p:HelloStackCache=true -p:HelloStackApi=true -p:StackReplicas=3)
app_port=18494
both_200() { for _ in $(seq 2400); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/")" = 200 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/api")" = 200 ] && return 0; sleep 0.05; done; echo "no 200 on / and /api at $1" >&2; return 1; }

echo "whole application: images, config and compose file" >&2
dotnet build -t:StackUp "${app_props[@]}" >/dev/null
both_200 "$port"
# The proxy's live config, names rewritten for compose's containers (bapp-app-N, bapp-api-N, bapp-cache).
docker exec "$stack-proxy" cat /run/proxystack/nginx.conf | sed -e "s/$stack-/bapp-/g" >"$work/app-nginx.conf"
app_img=$(docker inspect -f '{{.Image}}' "$stack-app-1"); api_img=$(docker inspect -f '{{.Image}}' "$stack-api-1")
dotnet build -t:StackDown "${app_props[@]}" >/dev/null
{
  echo "version: '3.8'"; echo "services:"
  printf '  cache:\n    image: localhost:5000/library/redis:7\n    container_name: bapp-cache\n    volumes: ["cache-data:/data"]\n    networks: {net: {aliases: [cache]}}\n'
  for i in 1 2 3; do printf '  app-%s:\n    image: %s\n    container_name: bapp-app-%s\n    environment: [ConnectionStrings__cache=cache:6379, services__api__http__0=http://api:8080]\n    depends_on: [cache]\n    networks: [net]\n' "$i" "$app_img" "$i"; done
  for i in 1 2; do printf '  api-%s:\n    image: %s\n    container_name: bapp-api-%s\n    networks: [net]\n' "$i" "$api_img" "$i"; done
  printf '  proxy:\n    image: localhost:5000/library/nginx:stable\n    container_name: bapp-proxy\n'
  compose_entrypoint
  printf '    ports: ["127.0.0.1:%s:8080"]\n    volumes: ["%s:/etc/proxystack/nginx.conf:ro"]\n' "$app_port" "$work/app-nginx.conf"
  printf '    networks: {net: {aliases: [api]}}\n    depends_on: [app-1, app-2, app-3, api-1, api-2]\n'
  printf 'volumes:\n  cache-data: {}\nnetworks:\n  net: {}\n'
} >"$work/compose-app.yml"

for run in $(seq "$runs"); do
  echo "whole application: run $run of $runs" >&2
  for m in ps cmp; do
    [ $(( run % 2 )) = 0 ] && m=$([ "$m" = ps ] && echo cmp || echo ps)
    if [ "$m" = ps ]; then
      t=$(now); dotnet build -t:StackUp "${app_props[@]}" >/dev/null; both_200 "$port"; record "app-up-ps" "$(since "$t")"
      t=$(now); dotnet build -t:StackDown "${app_props[@]}" >/dev/null; record "app-down-ps" "$(since "$t")"
      record "app-left-ps" "$(leftovers "$stack-")"
    else
      t=$(now); docker-compose -p benchapp -f "$work/compose-app.yml" up -d >/dev/null 2>&1; both_200 "$app_port"; record "app-up-cmp" "$(since "$t")"
      t=$(now); docker-compose -p benchapp -f "$work/compose-app.yml" down >/dev/null 2>&1; record "app-down-cmp" "$(since "$t")"
      record "app-left-cmp" "$(( $(leftovers bapp-) + $(leftovers benchapp) ))"
    fi
  done
done
docker-compose -p benchapp -f "$work/compose-app.yml" down -v >/dev/null 2>&1 || true
dotnet build -t:StackDown "${app_props[@]}" -p:StackRemoveVolumes=true >/dev/null
