"""SimCLR on Fashion-MNIST as a PyTorch user who tunes for the CPU would write it: the naive
peer's model, loss, optimizer, schedule and evaluation (imported from simclr_peer.py), trained
the fast way:

- channels-last model and inputs (oneDNN's preferred layout on CPU);
- each view encoded in chunks of 64 images (as contra's model.encode_chunk: the convolutions'
  working set stays in cache; batch-norm statistics per chunk, "ghost batch norm");
- augmentation of a whole batch at once on uint8 tensors (crop, flip and jitter as one affine
  grid sample and a few tensor operations) in one persistent DataLoader worker with prefetching,
  instead of torchvision's per-sample PIL transforms;
- torch.set_num_threads(--threads), one inter-op thread, denormals flushed to zero, SGD's
  multi-tensor (foreach) update, gradients set to None instead of zeroed.

The comparison row for contra in bench/run_train.sh, beside the naive peer. Run it with
/usr/bin/python3 (Debian's python3-torch and python3-torchvision):

  /usr/bin/python3 bench/peers/simclr_tuned_peer.py --arch small --max-steps 60 --bs 256 --threads 2
  /usr/bin/python3 bench/peers/simclr_tuned_peer.py --arch small --epochs 4 --bs 256 --threads 2 --eval

Output: the naive peer's lines (TRAIN ..., KNN ... LINEAR ..., AUG ...) and --summary keys, plus
the settings used (chunk, channels_last, aug, workers) in the summary. Each tuning can be turned
off (--chunk 0, --no-channels-last, --aug pil, --workers N) to see what it is worth.

Augmentation (--aug batched), the same distribution as the naive peer's torchvision pipeline:
RandomResizedCrop(28, scale 0.2-1, ratio 3/4-4/3; torchvision's ten tries, then the whole image)
resampled bilinearly at pixel centres, horizontal flip with p 0.5, ColorJitter(brightness 0.4,
contrast 0.4) with p 0.8 in a random order per image (contrast around the image's mean), then
normalisation. It computes in float, where PIL rounds to uint8 after each operation.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

import simclr_peer as naive

CROP_TRIES = 10  # torchvision's RandomResizedCrop.get_params


# ---------------------------------------------------------------- batched augmentation

def crop_boxes(n, size, generator=None, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop boxes for n square images of side `size`, drawn together:
    (top, left, height, width), each an int64 [n] tensor."""
    area = size * size * torch.empty(n, CROP_TRIES).uniform_(scale[0], scale[1], generator=generator)
    log_ratio = torch.empty(n, CROP_TRIES).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    aspect = log_ratio.exp()
    w = (area * aspect).sqrt().round().long()
    h = (area / aspect).sqrt().round().long()
    fits = (w > 0) & (w <= size) & (h > 0) & (h <= size)
    first = fits.long().argmax(1)  # the first try that fits (0 when none does: masked below)
    rows = torch.arange(n)
    any_fits = fits.any(1)
    w = torch.where(any_fits, w[rows, first], torch.full((n,), size))
    h = torch.where(any_fits, h[rows, first], torch.full((n,), size))
    # Uniform integer offsets in [0, size - side], as torch.randint(0, size - side + 1).
    top = (torch.rand(n, generator=generator) * (size - h + 1)).floor().long()
    left = (torch.rand(n, generator=generator) * (size - w + 1)).floor().long()
    return top, left, h, w


def batched_view(images, generator=None):
    """One random view of each image: uint8 [n, H, W] (square) -> normalised float [n, 1, H, W]."""
    n, size = images.shape[0], images.shape[-1]
    x = images.unsqueeze(1).float().div_(255.0)
    top, left, h, w = crop_boxes(n, size, generator)
    flip = torch.rand(n, generator=generator) < 0.5
    # The crop box (and the flip) as an affine map of the output grid, in grid_sample's [-1, 1]
    # coordinates with align_corners=False: output pixel k samples the box at (k + 0.5) w / size - 0.5,
    # as a bilinear resize does.
    sx = (w.float() / size) * torch.where(flip, -1.0, 1.0)
    sy = h.float() / size
    tx = (2 * left + w).float() / size - 1
    ty = (2 * top + h).float() / size - 1
    centres = (2 * torch.arange(size, dtype=torch.float32) + 1) / size - 1  # output pixels in [-1, 1]
    grid = torch.empty(n, size, size, 2)
    grid[..., 0] = (sx.view(n, 1) * centres + tx.view(n, 1)).view(n, 1, size)
    grid[..., 1] = (sy.view(n, 1) * centres + ty.view(n, 1)).view(n, size, 1)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    # ColorJitter(brightness 0.4, contrast 0.4) with p 0.8, the two in a random order per image.
    jitter = (torch.rand(n, generator=generator) < 0.8).view(n, 1, 1, 1)
    b = torch.empty(n, 1, 1, 1).uniform_(0.6, 1.4, generator=generator)
    c = torch.empty(n, 1, 1, 1).uniform_(0.6, 1.4, generator=generator)
    brightness_first = (torch.rand(n, generator=generator) < 0.5).view(n, 1, 1, 1)

    def brightness(t):
        return (t * b).clamp_(0, 1)

    def contrast(t):
        mean = t.mean(dim=(1, 2, 3), keepdim=True)
        return (c * t + (1 - c) * mean).clamp_(0, 1)

    jittered = torch.where(brightness_first, contrast(brightness(x)), brightness(contrast(x)))
    x = torch.where(jitter, jittered, x)
    return x.sub_(naive.MEAN).div_(naive.STD)


class BatchesOfViews(torch.utils.data.Dataset):
    """Item: a list of image indices (from a BatchSampler) -> both views of those images, made
    batch-wise. Random draws come from the worker's torch generator (seeded per worker)."""

    def __init__(self, images):
        self.images = torch.from_numpy(images.copy())  # uint8 [n, 28, 28]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, rows):
        chosen = self.images[torch.as_tensor(rows)]
        return batched_view(chosen), batched_view(chosen)


def make_loader(args, images):
    """The training batches: both views, batch `args.bs`, shuffled, incomplete batch dropped."""
    common = dict(num_workers=args.workers, persistent_workers=args.workers > 0)
    if args.workers > 0:
        common['prefetch_factor'] = args.prefetch
    if args.aug == 'pil':
        return torch.utils.data.DataLoader(naive.PairsOfViews(images), batch_size=args.bs, shuffle=True,
                                           drop_last=True, **common)
    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(range(len(images))),
                                            args.bs, drop_last=True)
    return torch.utils.data.DataLoader(BatchesOfViews(images), batch_size=None, sampler=sampler, **common)


# ---------------------------------------------------------------- training

def embed(encoder, head, view, chunk, channels_last):
    """Head embeddings of one view, encoded `chunk` images at a time (0: all at once)."""
    if channels_last:
        view = view.contiguous(memory_format=torch.channels_last)
    if chunk <= 0 or chunk >= len(view):
        return head(encoder(view))
    return torch.cat([head(encoder(part)) for part in view.split(chunk)])


def train(args, images):
    """Trains encoder + head; returns (encoder, steps, seconds). The naive peer's recipe."""
    encoder, dim = naive.make_encoder(args.arch)
    head = naive.make_head(dim)
    if args.channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
    params = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=0.3 * args.bs / 256, momentum=0.9, weight_decay=5e-4,
                                foreach=True)
    loader = make_loader(args, images)
    total = args.max_steps if args.max_steps > 0 else int(args.epochs * len(loader))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    step, waited = 0, 0.0
    start = time.time()
    while step < total:
        asked = time.time()
        for v1, v2 in loader:
            waited += time.time() - asked
            z1 = embed(encoder, head, v1, args.chunk, args.channels_last)
            z2 = embed(encoder, head, v2, args.chunk, args.channels_last)
            loss = naive.nt_xent(z1, z2, args.tau)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % args.log_every == 0:
                spent = time.time() - start
                print(f'step {step}/{total} loss {loss.item():.4f} {step * args.bs / spent:.1f} pairs/s '
                      f'(load wait {100 * waited / spent:.0f}%)', flush=True)
            if step >= total:
                break
            asked = time.time()
    return encoder, step, time.time() - start, waited


def augmentation_rate(args, images, n):
    """Two-view augmentations per second on this process's one core (as the naive peer's)."""
    torch.set_num_threads(1)
    if args.aug == 'pil':
        return naive.augmentation_rate(images, n)
    data = BatchesOfViews(images)
    start, done = time.time(), 0
    while done < n:
        rows = [(done + k) % len(data) for k in range(min(args.bs, n - done))]
        data[rows]
        done += len(rows)
    return n / (time.time() - start)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Tuned PyTorch SimCLR on Fashion-MNIST (contra\'s tuned peer).')
    p.add_argument('--arch', default='small', choices=['small', 'resnet18'])
    p.add_argument('--epochs', type=float, default=1, help='training length in epochs (default 1)')
    p.add_argument('--max-steps', type=int, default=0, help='train this many steps instead of --epochs')
    p.add_argument('--bs', type=naive.positive_int, default=256, help='batch size (pairs per step)')
    p.add_argument('--workers', type=int, default=1,
                   help='DataLoader worker processes (default 1: batched augmentation needs little)')
    p.add_argument('--prefetch', type=naive.positive_int, default=4, help='batches prefetched per worker')
    p.add_argument('--threads', type=naive.positive_int, default=2, help='intra-op threads')
    p.add_argument('--chunk', type=int, default=64, help='images per encoder pass (0: whole view)')
    p.add_argument('--no-channels-last', dest='channels_last', action='store_false',
                   help='keep the default NCHW layout')
    p.add_argument('--aug', default='batched', choices=['batched', 'pil'],
                   help='batched: uint8 tensor augmentation per batch; pil: the naive peer\'s per sample')
    p.add_argument('--tau', type=float, default=0.5, help='NT-Xent temperature')
    p.add_argument('--eval', action='store_true', help='kNN and linear probe on the test split after training')
    p.add_argument('--aug-bench', type=int, default=0, metavar='N',
                   help='time N two-view augmentations on one core, print AUG ... and exit')
    p.add_argument('--log-every', type=naive.positive_int, default=20, help='steps between progress lines')
    p.add_argument('--data-dir', default=naive.DEFAULT_DATA, help=f'Fashion-MNIST .gz files (default {naive.DEFAULT_DATA})')
    p.add_argument('--summary', metavar='FILE', help='also write the results as JSON to FILE')
    args = p.parse_args(argv)
    if args.workers < 0:
        p.error('--workers must be 0 or more')
    if args.chunk < 0:
        p.error('--chunk must be 0 or more')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)  # eager mode runs no inter-op work: no idle pool
    torch.set_flush_denormal(True)
    torch.backends.mkldnn.enabled = True
    torch.manual_seed(0)
    results = {'peer': 'simclr_tuned_peer', 'arch': args.arch, 'threads': args.threads,
               'chunk': args.chunk, 'channels_last': args.channels_last, 'aug': args.aug,
               'workers': args.workers}
    train_x, train_y = naive.load_split(args.data_dir, 'train')
    if args.aug_bench > 0:
        rate = augmentation_rate(args, train_x, args.aug_bench)
        print(f'AUG {args.aug} two-view images_per_s_per_core={rate:.1f}', flush=True)
        results.update(aug_images=args.aug_bench, images_per_s_per_core=rate)
    else:
        encoder, steps, seconds, waited = train(args, train_x)
        rate = steps * args.bs / seconds
        print(f'TRAIN {args.arch} steps={steps} bs={args.bs} time={seconds:.1f}s pairs_per_s={rate:.1f}',
              flush=True)
        results.update(steps=steps, batch_size=args.bs, wall_s=seconds, pairs_per_s=rate,
                       data_wait_fraction=waited / seconds if seconds > 0 else 0.0)
        if args.eval:
            start = time.time()
            test_x, test_y = naive.load_split(args.data_dir, 't10k')
            train_f, test_f = naive.features(encoder, train_x), naive.features(encoder, test_x)
            knn = naive.knn_accuracy(train_f, train_y, test_f, test_y)
            linear = naive.linear_accuracy(train_f, train_y, test_f, test_y)
            spent = time.time() - start
            print(f'KNN {knn:.4f} LINEAR {linear:.4f} eval_time={spent:.1f}s', flush=True)
            results.update(knn_acc=knn, linear_acc=linear, eval_s=spent)
    if args.summary:
        with open(args.summary, 'w') as f:
            json.dump(results, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
