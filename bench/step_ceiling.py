"""How fast could any fusion of the memory-bound layers make the tuned peer's SimCLR step?

Runs the tuned peer's training loop (bench/peers/simclr_tuned_peer.py, same model, recipe,
batch and threads) three times in one process, each variant for the same number of steps:

  full        the model as it is (conv + batch norm + ReLU blocks, max-pools);
  no-bn-relu  batch norm and ReLU replaced by identities: the time left when those layers cost
              nothing, a bound on what fusing them (e.g. batch norm + ReLU in one pass, forward
              and backward) could save;
  convs-only  also the max-pools replaced by strided slicing (the same shapes, almost no work).

Prints pairs/s of each and its ratio over `full`. The ratio of `no-bn-relu` is a ceiling for a
program that runs the same convolution kernels (oneDNN's, as contra and PyTorch both do) and
only makes the layers between them free. Not a result of training: the variants do not learn.

  /usr/bin/python3 bench/step_ceiling.py --steps 20 --bs 256 --threads 2
  ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 /usr/bin/python3 bench/step_ceiling.py
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'peers'))
import simclr_peer as naive  # noqa: E402
import simclr_tuned_peer as tuned  # noqa: E402


class StridedPool(nn.Module):
    """max-pool 2x2's shape at almost no cost: every second row and column."""

    def forward(self, x):
        return x[:, :, ::2, ::2]


def variant_encoder(name, make_encoder):
    def make(arch):
        encoder, dim = make_encoder(arch)
        if name == 'full':
            return encoder, dim
        for i, block in enumerate(encoder):
            if isinstance(block, nn.Sequential):  # conv, batch norm, ReLU
                block[1], block[2] = nn.Identity(), nn.Identity()
            elif isinstance(block, nn.MaxPool2d) and name == 'convs-only':
                encoder[i] = StridedPool()
        return encoder, dim
    return make


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--steps', type=int, default=20, help='timed steps per variant (default 20)')
    p.add_argument('--bs', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--summary', metavar='FILE', help='also write the results as JSON to FILE')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    images, _ = naive.load_split(naive.DEFAULT_DATA, 'train')
    base = naive.make_encoder
    results = {}
    for name in ('full', 'no-bn-relu', 'convs-only'):
        naive.make_encoder = variant_encoder(name, base)
        args = tuned.parse_args(['--arch', 'small', '--max-steps', str(a.steps), '--bs', str(a.bs),
                                 '--threads', str(a.threads), '--workers', '1', '--chunk', '64',
                                 '--log-every', str(10 ** 6)])
        torch.manual_seed(0)
        _, steps, seconds, _ = tuned.train(args, images)
        results[name] = steps * a.bs / seconds
        print(f'{name:11s} {results[name]:7.1f} pairs/s  {results[name] / results["full"]:.3f}x full',
              flush=True)
    naive.make_encoder = base
    if a.summary:
        with open(a.summary, 'w') as f:
            json.dump({'steps': a.steps, 'batch_size': a.bs, 'threads': a.threads, 'pairs_per_s': results},
                      f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
