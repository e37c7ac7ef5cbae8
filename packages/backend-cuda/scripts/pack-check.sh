#!/usr/bin/env bash
# Packs core, nn, backend-cpu and backend-cuda (after `pnpm build` and `pnpm prebuildify`), installs
# the tarballs in an empty folder with no nvcc on PATH, and checks: the tarball holds the prebuilt
# addon, install builds nothing, the package imports, and ready() falls back to cpu with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
TMP="$(mktemp -d)"
for p in core nn backend-cpu backend-cuda; do (cd "$ROOT/packages/$p" && npx --yes pnpm@9.15.9 pack --pack-destination "$TMP/tgz" >/dev/null); done
tar tzf "$TMP"/tgz/ghostflow-backend-cuda-*.tgz | grep 'package/prebuilds/linux-x64/node.napi.node' >/dev/null # no -q: an early exit would SIGPIPE tar under pipefail
mkdir "$TMP/app" && cd "$TMP/app"
echo '{"name":"app","version":"1.0.0","type":"module","private":true}' >package.json
env PATH=/usr/bin:/bin npm install --no-audit --no-fund --foreground-scripts "$TMP"/tgz/*.tgz
node node_modules/@ghostflow/backend-cuda/scripts/install.cjs # what npm runs when install scripts are allowed
test ! -e node_modules/@ghostflow/backend-cuda/build
env PATH=/usr/bin:/bin node --input-type=module -e "
import '@ghostflow/backend-cpu';
import '@ghostflow/backend-cuda';
import { ready } from '@ghostflow/core';
import { Linear } from '@ghostflow/nn';
const c = await ready();
console.log('backend:', c.backend, JSON.stringify(c.skipped), typeof Linear);
"
rm -rf "$TMP"
