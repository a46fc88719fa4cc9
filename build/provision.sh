#!/usr/bin/env bash
# Provisions what ProxyStack's tests and the HelloStack sample need on a Debian machine with no internet registry:
#   1. a Docker engine (docker.io from apt, dockerd started in the background when no socket answers);
#   2. a local registry on 127.0.0.1:5000 (Debian's docker-registry);
#   3. offline base images pushed to it, named as StackRegistryMirror expects:
#        localhost:5000/dotnet/aspnet:10.0   (mirror of mcr.microsoft.com/dotnet/aspnet:10.0)
#        localhost:5000/dotnet/runtime:10.0  (the same without ASP.NET Core: the base the SDK picks for a Worker Service)
#        localhost:5000/dotnet/runtime-deps:10.0-noble-chiseled (the base the SDK picks for native AOT apps: a Debian 12
#                                             stand-in with the same libraries and user, no .NET)
#        localhost:5000/dotnet/runtime-deps:10.0-noble-chiseled-extra (the same with ICU: trimmed apps)
#        localhost:5000/library/nginx:stable (mirror of nginx:stable: nginx 1.30 from Debian's unstable suite, the line the
#                                             public nginx:stable image carries, with `resolve` in upstream)
#        localhost:5000/library/nginx:1.22   (an older nginx from Debian 12, without `resolve`: the tests' StackNginxImage for
#                                             the reload path that older nginx images get)
#        localhost:5000/library/redis:7      (Redis 7 from Debian 12, configured as the public image: the backing container of
#                                             the sample and the StackContainer tests)
#        localhost:5000/library/postgres:15  (PostgreSQL 15 from Debian 12, driven by POSTGRES_* as the public image)
#   4. wrk, the strict load generator the zero-error tests use (it never retries a request), gcc with the C library and
#      zlib headers, which native AOT links with (the webapiaot template test), and Debian's chromium, the browser the
#      Blazor template test drives through Playwright (which downloads no browser of its own);
#   5. docker-compose (Debian's 1.29), which the StackPublish test runs the written compose file with, and the Kubernetes
#      schema validators in build/k8s-schema (npm ci from its lock file; node is on the machine);
#   6. Podman's Docker-compatible service on /run/podman/podman.sock (rootful, netavark), the second engine (see ensure_podman);
#   7. rootless Docker, the third: the dockerd of an unprivileged user on /run/user/<uid>/docker.sock (see ensure_rootless).
# PROXYSTACK_TOPOLOGY=desktop (tests of Docker Desktop's topology) restarts the engine without its userland proxy and stops
# the host from reaching container addresses; a plain run restores the default (see ensure_topology_rule).
# Idempotent: every step checks first, so a provisioned machine returns in seconds.
set -euo pipefail

REGISTRY=127.0.0.1:5000
CACHE=${PROXYSTACK_CACHE:-/var/cache/proxystack}
MIRROR_URL=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { printf '[provision] %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

engine_up() { curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }

stop_engine() {
  local pid; pid=$(cat /var/run/docker.pid 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do [ -d "/proc/$pid" ] || return 0; sleep 0.2; done
  log "dockerd (pid $pid) did not stop within 30 s"; exit 1
}

# PROXYSTACK_TOPOLOGY=desktop puts the engine into Docker Desktop's topology in the respect that matters to ProxyStack: the
# host cannot reach container addresses (a REJECT rule for host-originated traffic to 172.16.0.0/12 that is not DNAT'ed),
# while ports published on 127.0.0.1 work (dockerd without its userland proxy, as Docker Desktop's engine runs). The
# default, linux, is dockerd as packaged and no rule — and it is restored by every plain run of this script, so a test run
# killed inside the desktop topology cannot leave the machine there.
TOPOLOGY=${PROXYSTACK_TOPOLOGY:-linux}
case $TOPOLOGY in linux|desktop) ;; *) log "PROXYSTACK_TOPOLOGY must be linux or desktop, not '$TOPOLOGY'"; exit 2 ;; esac
TOPOLOGY_RULE=(OUTPUT -d 172.16.0.0/12 -m conntrack ! --ctstate DNAT -m comment --comment proxystack-desktop-topology -j REJECT)
# In the desktop topology the engine also listens on a second, per-user-like socket, which the tests reach through a docker
# context (as Docker Desktop's CLI does), not through the default socket.
DESKTOP_SOCKET=/run/proxystack/desktop.sock
DOCKERD_ARGS=()
if [ "$TOPOLOGY" = desktop ]; then
  mkdir -p "$(dirname "$DESKTOP_SOCKET")"
  DOCKERD_ARGS=(--userland-proxy=false -H unix:///var/run/docker.sock -H "unix://$DESKTOP_SOCKET")
fi
running_topology() {
  local pid; pid=$(cat /var/run/docker.pid 2>/dev/null) || { echo linux; return; }
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--userland-proxy=false'; then echo desktop; else echo linux; fi
}

ensure_topology_rule() {
  command -v iptables >/dev/null 2>&1 || apt_install iptables
  if [ "$TOPOLOGY" = desktop ]; then
    iptables -C "${TOPOLOGY_RULE[@]}" 2>/dev/null || iptables -I "${TOPOLOGY_RULE[@]}"
  else
    while iptables -D "${TOPOLOGY_RULE[@]}" 2>/dev/null; do log "removed the desktop-topology rule"; done
  fi
}

ensure_engine() {
  if engine_up; then
    [ "$(running_topology)" = "$TOPOLOGY" ] && return 0
    log "restarting dockerd for the $TOPOLOGY topology"
    stop_engine
  fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  log "starting dockerd"
  mkdir -p /var/log
  # A dockerd that was killed (the end of a session, a reboot) leaves its pid file behind, and dockerd refuses to start
  # while the pid in it belongs to a live process.
  pgrep -x dockerd >/dev/null 2>&1 || rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  nohup dockerd "${DOCKERD_ARGS[@]}" >/var/log/proxystack-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do engine_up && { log "engine is up"; return 0; }; sleep 0.5; done
  log "dockerd did not come up; see /var/log/proxystack-dockerd.log"; tail -n 30 /var/log/proxystack-dockerd.log >&2; exit 1
}

registry_up() { curl -sf "http://$REGISTRY/v2/" >/dev/null 2>&1; }

ensure_registry() {
  if registry_up; then return 0; fi
  command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
  mkdir -p "$CACHE/registry"
  cat >"$CACHE/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $CACHE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YML
  log "starting local registry on $REGISTRY"
  nohup docker-registry serve "$CACHE/registry.yml" >/var/log/proxystack-registry.log 2>&1 &
  for _ in $(seq 1 60); do registry_up && return 0; sleep 0.5; done
  log "registry did not come up"; tail -n 30 /var/log/proxystack-registry.log >&2; exit 1
}

in_registry() { # repo tag
  curl -sf -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REGISTRY/v2/$1/manifests/$2"
}

rootfs() { # name suite extra-packages...
  local name=$1 suite=$2; shift 2
  local dir="$CACHE/rootfs-$name"
  if [ ! -f "$dir/.done" ]; then
    apt_install debootstrap
    rm -rf "$dir"
    local inc; inc=$(IFS=,; echo "$*")
    log "debootstrap $name (${inc:-minbase only})"
    debootstrap --variant=minbase ${inc:+--include=$inc} "$suite" "$dir" "$MIRROR_URL" >/dev/null
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    touch "$dir/.done"
  fi
  echo "$dir"
}

push_image() { # rootfs-dir image-ref change...
  local dir=$1 ref=$2; shift 2
  local args=()
  for c in "$@"; do args+=(--change "$c"); done
  log "importing $ref"
  tar -C "$dir" --exclude=./.done -c . | docker import "${args[@]}" - "$ref" >/dev/null
  docker push -q "$ref" >/dev/null
}

ensure_aspnet() {
  in_registry dotnet/aspnet 10.0 && return 0
  local dir; dir=$(rootfs aspnet bookworm ca-certificates libicu72)
  if [ ! -x "$dir/usr/share/dotnet/dotnet" ]; then
    mkdir -p "$dir/usr/share/dotnet"
    cp -a /usr/share/dotnet/dotnet /usr/share/dotnet/host /usr/share/dotnet/shared "$dir/usr/share/dotnet/"
    ln -sf /usr/share/dotnet/dotnet "$dir/usr/bin/dotnet"
  fi
  add_app_user "$dir"
  push_image "$dir" "$REGISTRY/dotnet/aspnet:10.0" "${DOTNET_IMAGE_CONFIG[@]}"
}

# The .NET images' user (app, 1654, with a home) and configuration, which the stand-ins share with the public images.
add_app_user() { # rootfs-dir
  grep -q '^app:' "$1/etc/passwd" && return 0
  echo 'app:x:1654:1654:app:/home/app:/usr/sbin/nologin' >>"$1/etc/passwd"
  echo 'app:x:1654:' >>"$1/etc/group"
  mkdir -p "$1/home/app" && chown 1654:1654 "$1/home/app"
}
DOTNET_IMAGE_CONFIG=('ENV APP_UID=1654' 'ENV ASPNETCORE_HTTP_PORTS=8080' 'ENV DOTNET_RUNNING_IN_CONTAINER=true'
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'USER 1654' 'WORKDIR /app')

# A Worker Service (or another app on the .NET Generic Host: a background StackProject) gets the runtime image: the aspnet
# stand-in's root file system without the ASP.NET Core shared framework, so it costs a copy, not another debootstrap.
ensure_runtime() {
  in_registry dotnet/runtime 10.0 && return 0
  local from; from=$(rootfs aspnet bookworm ca-certificates libicu72)
  [ -x "$from/usr/share/dotnet/dotnet" ] || { log "the aspnet stand-in's root file system has no .NET: run ensure_aspnet first"; exit 1; }
  local dir="$CACHE/rootfs-runtime"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -C "$from" --exclude=./usr/share/dotnet/shared/Microsoft.AspNetCore.App -c . | tar -C "$dir" -x
  add_app_user "$dir"
  push_image "$dir" "$REGISTRY/dotnet/runtime:10.0" "${DOTNET_IMAGE_CONFIG[@]}"
}

# Native AOT apps need no .NET in their image: the same Debian 12 base as aspnet (glibc 2.36, as the build machine's, which
# the native binary links against), with certificates and the app user.
ensure_runtime_deps() {
  in_registry dotnet/runtime-deps 10.0-noble-chiseled && return 0
  local dir; dir=$(rootfs runtime-deps bookworm ca-certificates)
  add_app_user "$dir"
  push_image "$dir" "$REGISTRY/dotnet/runtime-deps:10.0-noble-chiseled" "${DOTNET_IMAGE_CONFIG[@]}"
}

# Trimmed apps (and native AOT apps that keep globalization) get the "-extra" variant: the base with ICU. That is the aspnet
# stand-in's root file system without .NET, so it costs a copy, not another debootstrap.
ensure_runtime_deps_extra() {
  in_registry dotnet/runtime-deps 10.0-noble-chiseled-extra && return 0
  local from; from=$(rootfs aspnet bookworm ca-certificates libicu72)
  local dir="$CACHE/rootfs-runtime-deps-extra"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -C "$from" --exclude=./usr/share/dotnet --exclude=./usr/bin/dotnet -c . | tar -C "$dir" -x
  add_app_user "$dir"
  push_image "$dir" "$REGISTRY/dotnet/runtime-deps:10.0-noble-chiseled-extra" "${DOTNET_IMAGE_CONFIG[@]}"
}

nginx_image() { # rootfs-name suite package tag
  local dir; dir=$(rootfs "$1" "$2" "$3")
  # Like the public image: logs go to the container's stdout/stderr.
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"; ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
  push_image "$dir" "$REGISTRY/library/nginx:$4" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'EXPOSE 80' \
    'CMD ["nginx","-g","daemon off;"]'
  echo "$2" >"$CACHE/nginx-$4.suite"
  # The engine keeps an image it pulled before under the name the tests use: refresh it, or it would keep the old nginx.
  if docker image inspect "localhost:5000/library/nginx:$4" >/dev/null 2>&1; then docker pull -q "localhost:5000/library/nginx:$4" >/dev/null; fi
}

# nginx:stable comes from Debian's unstable suite (nginx 1.30, as the public image); a registry provisioned before that
# (Debian 12's nginx 1.22 under the same tag) is replaced.
ensure_nginx() {
  in_registry library/nginx stable && [ "$(cat "$CACHE/nginx-stable.suite" 2>/dev/null)" = sid ] \
    || nginx_image nginx-sid sid nginx stable
  in_registry library/nginx 1.22 && [ "$(cat "$CACHE/nginx-1.22.suite" 2>/dev/null)" = bookworm ] \
    || nginx_image nginx-bookworm bookworm nginx-light 1.22
}

# Backing containers (StackContainer) in the tests and the sample: Redis from Debian 12 (7.0), named and configured as the
# public image is (redis-server in /data as the redis user, protected mode off, port 6379).
ensure_redis() {
  in_registry library/redis 7 && return 0
  local dir; dir=$(rootfs redis bookworm redis-server)
  mkdir -p "$dir/data" && chown "$(awk -F: '$1=="redis"{print $3":"$4}' "$dir/etc/passwd")" "$dir/data"
  push_image "$dir" "$REGISTRY/library/redis:7" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'EXPOSE 6379' 'VOLUME /data' 'WORKDIR /data' \
    'USER redis' 'CMD ["redis-server","--protected-mode","no"]'
}

# PostgreSQL 15 from Debian 12, named and driven as the public image is (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, data
# under /var/lib/postgresql/data, port 5432): build/images/postgres-entrypoint.sh does what its entry point does for those.
ensure_postgres() {
  in_registry library/postgres 15 && return 0
  local dir; dir=$(rootfs postgres bookworm postgresql-15)
  install -m 0755 "$(dirname "$0")/images/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
  push_image "$dir" "$REGISTRY/library/postgres:15" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin' 'ENV PGDATA=/var/lib/postgresql/data' \
    'EXPOSE 5432' 'VOLUME /var/lib/postgresql/data' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["postgres"]'
}

# Podman, the second engine the core scenarios run on (tests/Integration.Tests/PodmanTests.cs): rootful, through its
# Docker-compatible service on $PODMAN_SOCKET. Three settings of its own make it work here, in drop-in files so a user's
# containers.conf and registries.conf stay as they are:
#   - default_ulimits within this machine's hard limits: Podman asks for nofile=1048576, which runc may not set here
#     ("error setting rlimit type 7: operation not permitted"), and an nproc above 4096 failed the same way (type 6);
#   - netavark with aardvark-dns: container names and network aliases resolve on a network (CNI needs a dnsname plugin);
#   - the local registry marked insecure (plain HTTP), so Podman pulls the mirror's images.
PODMAN_SOCKET=/run/podman/podman.sock
podman_up() { curl -sf --unix-socket "$PODMAN_SOCKET" http://localhost/_ping >/dev/null 2>&1; }
write_if_changed() { # file content; returns 0 when it changed
  [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && return 1
  mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; return 0
}
ensure_podman() {
  apt_install podman netavark aardvark-dns
  local nofile changed=0; nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
  write_if_changed /etc/containers/containers.conf.d/50-proxystack.conf "# Written by ProxyStack's build/provision.sh.
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=4096:4096\"]
[network]
network_backend = \"netavark\"" && changed=1
  write_if_changed /etc/containers/registries.conf.d/50-proxystack.conf "# Written by ProxyStack's build/provision.sh: the local mirror speaks plain HTTP.
[[registry]]
location = \"localhost:5000\"
insecure = true
[[registry]]
location = \"127.0.0.1:5000\"
insecure = true" && changed=1
  if podman_up && [ $changed -eq 0 ]; then return 0; fi
  pkill -f "podman system service .*$PODMAN_SOCKET" 2>/dev/null && sleep 1
  log "starting podman system service on $PODMAN_SOCKET"
  mkdir -p "$(dirname "$PODMAN_SOCKET")"
  nohup podman system service --time=0 "unix://$PODMAN_SOCKET" >/var/log/proxystack-podman.log 2>&1 &
  for _ in $(seq 1 60); do podman_up && return 0; sleep 0.5; done
  log "podman did not come up; see /var/log/proxystack-podman.log"; tail -n 30 /var/log/proxystack-podman.log >&2; exit 1
}

# Rootless Docker: Debian's dockerd run by an unprivileged user, proxystack-rootless, inside rootlesskit's user and network
# namespaces with slirp4netns, its socket at /run/user/<uid>/docker.sock (PROXYSTACK_ROOTLESS_SOCKET for the tests and the
# leak check). Started as Docker 23's dockerd-rootless.sh starts it with DOCKERD_ROOTLESS_ROOTLESSKIT_DISABLE_HOST_LOOPBACK=false
# — Debian's 20.10 script always passes --disable-host-loopback — so its containers reach this machine's loopback at
# 10.0.2.2, where the debug profile's app listens. Its daemon pulls from inside its namespace, where 127.0.0.1:5000 is not
# this machine's registry: the proxy's base image is loaded into it from the rootful engine (the SDK loads app images itself).
ROOTLESS_USER=proxystack-rootless
rootless_socket() { echo "/run/user/$(id -u "$ROOTLESS_USER")/docker.sock"; }
rootless_up() { curl -sf --unix-socket "$(rootless_socket)" http://localhost/_ping >/dev/null 2>&1; }
ensure_rootless() {
  apt_install rootlesskit slirp4netns uidmap
  id "$ROOTLESS_USER" >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$ROOTLESS_USER"
  grep -q "^$ROOTLESS_USER:" /etc/subuid || usermod --add-subuids 300000-365535 "$ROOTLESS_USER"
  grep -q "^$ROOTLESS_USER:" /etc/subgid || usermod --add-subgids 300000-365535 "$ROOTLESS_USER"
  # slirp4netns opens the TUN device as that user: 0666 on a usual Debian, root's only on some virtual machines.
  [ -c /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
  chmod 666 /dev/net/tun
  local uid runtime; uid=$(id -u "$ROOTLESS_USER"); runtime=/run/user/$uid
  if ! rootless_up; then
    pkill -u "$ROOTLESS_USER" 2>/dev/null && sleep 1
    install -d -m 700 -o "$ROOTLESS_USER" -g "$ROOTLESS_USER" "$runtime"
    log "starting rootless dockerd on $runtime/docker.sock"
    runuser -u "$ROOTLESS_USER" -- env -i HOME="/home/$ROOTLESS_USER" XDG_RUNTIME_DIR="$runtime" _DOCKERD_ROOTLESS_CHILD=1 \
      PATH=/usr/share/docker.io/contrib:/usr/sbin:/usr/bin:/sbin:/bin \
      nohup rootlesskit --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto --port-driver=builtin \
      --copy-up=/etc --copy-up=/run --propagation=rslave /usr/share/docker.io/contrib/dockerd-rootless.sh \
      >/var/log/proxystack-rootless.log 2>&1 &
    local up=0
    for _ in $(seq 1 60); do rootless_up && { up=1; break; }; sleep 0.5; done
    [ $up -eq 1 ] || { log "rootless dockerd did not come up; see /var/log/proxystack-rootless.log"; tail -n 30 /var/log/proxystack-rootless.log >&2; exit 1; }
  fi
  local image=localhost:5000/library/nginx:stable
  if ! DOCKER_HOST="unix://$(rootless_socket)" docker image inspect "$image" >/dev/null 2>&1; then
    log "loading $image into rootless docker"
    docker save "$image" | DOCKER_HOST="unix://$(rootless_socket)" docker load >/dev/null
  fi
}

# The Kubernetes OpenAPI schema validators the manifest test runs offline (kubernetes-models), from the lock file.
ensure_k8s_schema() {
  local dir; dir="$(cd "$(dirname "$0")" && pwd)/k8s-schema"
  [ -d "$dir/node_modules/kubernetes-models" ] && return 0
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

start=$(date +%s)
apt_install curl ca-certificates wrk gcc libc6-dev zlib1g-dev chromium docker-compose
ensure_k8s_schema
ensure_engine
ensure_topology_rule
ensure_registry
ensure_aspnet
ensure_runtime
ensure_runtime_deps
ensure_runtime_deps_extra
ensure_nginx
ensure_redis
ensure_postgres
ensure_podman
ensure_rootless
log "ready in $(( $(date +%s) - start )) s: engine, registry $REGISTRY, base images, redis, postgres, docker-compose, k8s schema, podman, rootless docker"
