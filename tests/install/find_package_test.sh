#!/usr/bin/env bash
# Install.FindPackageExample: installs contra from the build tree into a temporary prefix, builds
# examples/embed_folder (a project outside the tree) with find_package(contra), trains a tiny run
# with the installed CLI and embeds three Fashion-MNIST test images with the example program.
# Usage: find_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/contra-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src/examples/embed_folder" -B "$work/example" "${gen[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/prefix/bin/contra" train "$src/configs/fashion_mnist.yaml" --set train.max_steps=2 \
  --set train.batch_size=32 --set data.limit=256 --set eval.enabled=false --set report.enabled=false --out "$work/run" >/dev/null
# Three test images as PNG files (Python's standard library only).
/usr/bin/python3 - "$work" <<'PY'
import gzip, os, struct, sys, zlib
work = sys.argv[1]
d = "/usr/share/datasets/fashion-mnist"
name = next(os.path.join(d, f) for f in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte") if os.path.exists(os.path.join(d, f)))
data = (gzip.open if name.endswith(".gz") else open)(name, "rb").read()
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
for i in range(3):
    px = data[16 + 784 * i: 16 + 784 * (i + 1)]
    raw = b"".join(b"\x00" + px[28 * r: 28 * (r + 1)] for r in range(28))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(os.path.join(work, f"img{i}.png"), "wb").write(png)
PY
out=$("$work/example/embed_folder" "$work/run" "$work/img0.png" "$work/img1.png" "$work/img2.png")
echo "$out"
[ "$(grep -c 'dim=1024 ' <<<"$out")" -eq 3 ] || { echo "expected 3 embeddings of dim 1024" >&2; exit 1; }
# A run folder without a checkpoint is one clear error (exit 2).
mkdir "$work/empty"
set +e
err=$("$work/example/embed_folder" "$work/empty" "$work/img0.png" 2>&1); code=$?
set -e
echo "$err"
[ "$code" -eq 2 ] || { echo "expected exit 2, got $code" >&2; exit 1; }
echo "find_package(contra) example: ok"
