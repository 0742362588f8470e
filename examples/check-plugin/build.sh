#!/usr/bin/env bash
# Builds the example check plugin against Postern's jar: bash examples/check-plugin/build.sh [postern.jar] [out.jar]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jar=${1:-$here/../../target/postern.jar}
out=${2:-$here/example-check-plugin.jar}
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac --release 17 -cp "$jar" -d "$classes" $(find "$here/src" -name '*.java')
cp -r "$here/META-INF" "$classes/"
jar cf "$out" -C "$classes" .
echo "$out"
