#!/usr/bin/env bash
# One-shot check on a GPU machine (the device tool's; PyTorch 2.x wheel with CUDA, no internet):
# build contra against the wheel's LibTorch, run the CUDA tests and a core subset of the suite,
# train SimCLR and MoCo briefly on the GPU, run two processes under torchrun, and run the loss
# benchmark up to 1,048,576 pairs (SKIP_BENCH=1: not).
# Needs .devdeps/ (made by bench/gpu/bundle.sh on a Debian machine): the Debian headers and
# libraries the build uses (yaml-cpp, nlohmann-json, CLI11, GoogleTest, stb, zlib headers,
# sentencepiece, OpenSSL's libcrypto) and Fashion-MNIST. Every phase has its own time limit; logs go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/contra-gpu}; mkdir -p "$out"
R=$PWD/.devdeps/root
phase() {  # phase NAME SECONDS COMMAND...: runs with a limit, logs, reports the status
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" >"$out/$name.log" 2>&1; local rc=$?
  echo "phase $name: rc=$rc in $(( $(date +%s) - t0 )) s" | tee -a "$out/phases.txt"
  tail -n 5 "$out/$name.log"
  return $rc
}
mkdir -p /usr/share/datasets
[ -e /usr/share/datasets/fashion-mnist ] || ln -s "$PWD/.devdeps/fmnist" /usr/share/datasets/fashion-mnist
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
export LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu:$torch_dir/lib:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$R/usr/lib/x86_64-linux-gnu/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$R"
export PATH="$PATH:$R/usr/bin"
command -v nvcc >/dev/null && export CUDACXX=$(command -v nvcc)
{ nvidia-smi -L; python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  c++ --version | head -1; cmake --version | head -1; nproc; } >"$out/env.txt" 2>&1
cat "$out/env.txt"

# PyTorch's CMake package looks for NVTX3 headers; the wheel's nvidia-nvtx package has them.
nvtx=$(python3 -c 'import nvidia.nvtx, os; print(os.path.join(list(nvidia.nvtx.__path__)[0], "include"))' 2>/dev/null || true)
phase configure 90 cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_dir/share/cmake;$R/usr;$R/usr/lib/x86_64-linux-gnu/cmake;$R/usr/share/cmake" \
  -DZLIB_INCLUDE_DIR="$R/usr/include" -DZLIB_LIBRARY="$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)" \
  -DSTB_INCLUDE_DIR="$R/usr/include/stb" -DOPENSSL_ROOT_DIR="$R/usr" ${nvtx:+-DCMAKE_INCLUDE_PATH="$nvtx"} || { tail -40 "$out/configure.log"; exit 1; }
targets="contra_cli contra_tests"
grep -q '^build bench_loss:' build-gpu/build.ninja 2>/dev/null && targets="$targets bench_loss"
[ -n "${ONLY_BENCH:-}" ] && targets="bench_loss"
phase build 240 ninja -C build-gpu -j"$(nproc)" $targets || { grep -m5 -A5 "error" "$out/build.log"; exit 1; }

if [ -z "${ONLY_BENCH:-}" ]; then
# GPU tests (*_CUDA) and the CPU core of the suite, compiled against LibTorch 2.x.
phase tests 90 build-gpu/contra_tests \
  --gtest_filter='*CUDA*:Dist*:NTXent*:InfoNCE*:SupCon*:Triplet*:MinedTriplet*:SampledInfoNCE*:Decoupled*:Tiled*:Clip*:GradCache*:NegativeSampling*:KeyQueue*:Momentum*:MoCo*:SimCLR*:Model*:Config*:Adaptive*'
grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$out/tests.log"

common="--set device=cuda --set data.limit=20000 --set train.max_steps=120 --set train.log_every=20 --set eval.linear=false"
phase train_simclr 60 build-gpu/contra train configs/fashion_mnist.yaml $common --set train.batch_size=1024 --out "$out/run_simclr"
phase train_moco 50 build-gpu/contra train configs/moco_fashion_mnist.yaml $common --out "$out/run_moco"
# Two processes under this PyTorch's torchrun (its agent serves the store): on CPU, and with both
# ranks on the one GPU (Gloo moves CUDA tensors; NCCL is not wired).
for dev in cpu cuda; do
  phase "torchrun_$dev" 60 python3 -m torch.distributed.run --no_python --nnodes 1 --nproc_per_node 2 \
    --master_port 29512 build-gpu/contra train configs/fashion_mnist.yaml --set device=$dev \
    --set data.limit=20000 --set train.max_steps=40 --set train.log_every=20 --set eval.linear=false \
    --set threads=4 --out "$out/run_dist_$dev"
  [ -f "$out/run_dist_$dev/summary.json" ] && cp "$out/run_dist_$dev/summary.json" "$out/run_dist_$dev.summary.json"
done
for r in run_simclr run_moco; do [ -f "$out/$r/summary.json" ] && cp "$out/$r/summary.json" "$out/$r.summary.json"; done
fi

if [ -x build-gpu/bench_loss ] && [ -z "${SKIP_BENCH:-}" ]; then
  BUILD_DIR=build-gpu PYTHON=python3 MAX_GB=100 phase loss_bench 100 bash bench/run_loss.sh 8 cuda 8192 32768 131072 262144 1048576
fi
cat "$out/phases.txt"
