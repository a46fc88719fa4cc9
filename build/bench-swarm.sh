#!/usr/bin/env bash
# Swarm beside the local stack, in one run: the sample (3 replicas, nginx) brought up by StackUp on this engine and by
# StackDeploy on a single-node swarm of the same engine (made a manager here if it is not one, and left as found), each warm
# (images built, nothing running) to the first 200 through nginx, then a rolling redeploy of every replica (BenchGeneration,
# a replica setting) under wrk, then the teardown. Sourced by build/bench.sh; expects $work/HelloStack, $stack, $port,
# $props, $runs and the helpers defined there and in bench-compare.sh (now, since, record, first_200, under_load).
set -euo pipefail

swarm_port=18496
swarm_props=("${props[@]}" -p:StackTarget=swarm -p:StackRegistry=localhost:5000 -p:StackHostAddress=0.0.0.0 "-p:StackHostPort=$swarm_port" -p:StackReplicas=3)
local_props=("${props[@]}" -p:StackReplicas=3)
lsw_redeploy() { dotnet build -t:StackUp "${local_props[@]}" "-p:BenchGeneration=$1" >/dev/null; }
sw_redeploy() { dotnet build -t:StackDeploy "${swarm_props[@]}" "-p:BenchGeneration=$1" >/dev/null; }

swarm_joined=0
if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
  gwbridge_existed=$(docker network ls -q --filter name='^docker_gwbridge$')
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null; swarm_joined=1
fi
swarm_leave() {
  dotnet build -t:StackDown "${swarm_props[@]}" -p:StackRemoveVolumes=true >/dev/null 2>&1 || true
  if [ "$swarm_joined" = 1 ]; then
    docker swarm leave --force >/dev/null 2>&1 || true
    [ -n "$gwbridge_existed" ] || docker network rm docker_gwbridge >/dev/null 2>&1 || true
  fi
}

echo "swarm: images" >&2
dotnet build -t:StackDeploy "${swarm_props[@]}" >/dev/null || { swarm_leave; exit 1; }
dotnet build -t:StackDown "${swarm_props[@]}" >/dev/null
for run in $(seq "$runs"); do
  echo "swarm: run $run of $runs" >&2
  t=$(now); dotnet build -t:StackUp "${local_props[@]}" "-p:BenchGeneration=0" >/dev/null; first_200 "$port"; record "sw-up-local" "$(since "$t")"
  under_load lsw "$port" "$run" sw-local
  t=$(now); dotnet build -t:StackDown "${local_props[@]}" >/dev/null; record "sw-down-local" "$(since "$t")"
  t=$(now); dotnet build -t:StackDeploy "${swarm_props[@]}" "-p:BenchGeneration=0" >/dev/null; first_200 "$swarm_port"; record "sw-up-swarm" "$(since "$t")"
  under_load sw "$swarm_port" "$run" sw-swarm
  t=$(now); dotnet build -t:StackDown "${swarm_props[@]}" >/dev/null; record "sw-down-swarm" "$(since "$t")"
done
swarm_leave
# The tags StackDeploy pushed from this engine's images (the registry keeps its copies).
docker rmi $(docker images --format '{{.Repository}}:{{.Tag}}' | grep "^localhost:5000/$stack-") >/dev/null 2>&1 || true
