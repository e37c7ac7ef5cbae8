#!/usr/bin/env bash
# The bench's system peers, as a Python user has them: PyTorch from Debian (python3-torch, 1.13) with
# an optimized BLAS. Without libopenblas0-pthread, Debian's torch calls the generic reference BLAS
# (4-6 GFLOP/s at matmul-1024) and PyTorch looks 4-6x slower than it is. Needs root or sudo.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 - <<'PY'
import os, torch
torch.matmul(torch.ones(64, 64), torch.ones(64, 64))
libs = sorted({os.path.realpath(l.split()[-1]) for l in open('/proc/self/maps') if 'blas' in l.lower() and l.split()[-1].startswith('/')})
print(f"torch {torch.__version__}, BLAS: {', '.join(libs) or 'none mapped'}")
PY
