#!/usr/bin/env bash
# Packs the ProxyStack.Sdk package into artifacts/packages (or $2).
# Usage: build/pack.sh [version] [output-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-0.1.0-dev}
out=${2:-$root/artifacts/packages}
dotnet pack "$root/src/Sdk/ProxyStack.Sdk.csproj" -c Release -nologo -p:ProxyStackVersion="$version" -o "$out"
