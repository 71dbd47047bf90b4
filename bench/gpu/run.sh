#!/usr/bin/env bash
# kiln's GPU bundle entry point: runs the CUDA tests and the GPU bench on a machine with the NVIDIA
# driver (and CUDA's nvcc to compile kernels) but no Node.js, and writes every result under results/.
# Usage: bash run.sh [RESULTS_DIR]   (KILN_GPU_ROUNDS, KILN_GPU_MODELS tune the bench; KILN_GPU_TESTS
# names the test files to run, default all: cuda.test,cuda-compile.test,cuda-compile-f16.test,cuda-compile-conformance.test)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
results="$(realpath -m "${1:-$here/results}")"
mkdir -p "$results"
cd "$here"
# the bundled Node (xz-compressed; unpacked once, with xz or with Python's lzma)
if [ ! -x "$here/node" ]; then
  if command -v xz >/dev/null; then xz -dc node.xz > node.tmp
  else python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open("node.xz").read())' > node.tmp; fi
  chmod +x node.tmp && mv node.tmp node
fi
if [ ! -d "$here/conformance" ]; then
  mkdir -p conformance.tmp && tar -C conformance.tmp -xJf conformance.tar.xz 2>/dev/null \
    || python3 -c 'import tarfile; tarfile.open("conformance.tar.xz").extractall("conformance.tmp")'
  mv conformance.tmp conformance
fi
export KILN_CONFORMANCE_DIR="$here/conformance/node" KILN_CACHE_DIR="$results/cache" KILN_TUNING=off
node_bin="$here/node"
{
  echo "kiln GPU bundle $(cat VERSION) on $(uname -srm), $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found (no NVIDIA driver?)"
  nv="${KILN_NVCC:-$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")}"
  [ -x "$nv" ] && echo "nvcc: $nv, $("$nv" --version | tail -1)" || echo "nvcc: not found (set KILN_NVCC or CUDA_HOME): the kernels cannot be compiled"
} | tee "$results/machine.txt"
status=0
for t in tests/*.mjs; do
  name="$(basename "$t" .mjs)"
  case ",${KILN_GPU_TESTS:-$name}," in *",$name,"*) ;; *) continue ;; esac
  echo "== $name"
  "$node_bin" "$t" > "$results/$name.txt" 2>&1 || status=1
  tail -n 3 "$results/$name.txt"
done
echo "== kiln bench"
"$node_bin" kiln-bench.mjs "$results/kiln.json" 2>&1 | tee "$results/kiln-bench.txt" || status=1
echo "== torch bench"
if command -v python3 >/dev/null; then python3 torch_bench.py "$results/torch.json" 2>&1 | tee "$results/torch-bench.txt" || status=1
else echo "python3 not found: no torch bench" | tee "$results/torch-bench.txt"; fi
echo "results in $results (status $status)"
exit $status
