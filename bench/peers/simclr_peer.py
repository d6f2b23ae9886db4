"""SimCLR on Fashion-MNIST written the way a PyTorch user would write it: torchvision PIL
transforms applied per sample inside DataLoader worker processes, a small ConvNet (or a
ResNet-18 with a 3x3 stem), an MLP projection head, NT-Xent, SGD with a cosine schedule, then
kNN and a linear probe on the frozen features. This is the peer contra is measured against
(bench/run_train.sh, bench/run_augment.sh); it changes nothing of that recipe, so its numbers
stay comparable with the ones in BENCHMARKS.md.

Needs Debian's python3-torch, python3-torchvision and dataset-fashion-mnist
(scripts/install-deps.sh --with-peer); run it with /usr/bin/python3:

  /usr/bin/python3 bench/peers/simclr_peer.py --arch small --max-steps 60 --bs 256 --threads 2 --workers 2
  /usr/bin/python3 bench/peers/simclr_peer.py --arch small --epochs 4 --bs 256 --threads 2 --workers 2 --eval
  /usr/bin/python3 bench/peers/simclr_peer.py --aug-bench 5000 --threads 1

Output lines (what the bench scripts parse):
  TRAIN <arch> steps=... bs=... time=...s pairs_per_s=...
  KNN <acc> LINEAR <acc> eval_time=...s                       (with --eval)
  AUG torchvision two-view images_per_s_per_core=...         (with --aug-bench N)
--summary FILE also writes those numbers as JSON, with contra's summary.json key names.

Recipe: `small` = four 3x3 conv + batch norm + ReLU blocks (1->32, 32->64, max-pool, 64->128,
max-pool, 128->256), global average pool; head 256 -> 512 -> ReLU -> 128. Two views per image:
RandomResizedCrop(28, scale 0.2-1), horizontal flip, ColorJitter(brightness 0.4, contrast 0.4)
with p 0.8, normalise with mean 0.2860 and std 0.3530. Loss NT-Xent (temperature --tau, 0.5).
SGD lr 0.3 x batch/256, momentum 0.9, weight decay 5e-4, cosine annealing over all steps.
Evaluation on the frozen encoder: weighted kNN (k 200, t 0.1, cosine) and a linear classifier
on standardised features (Adam 1e-3, weight decay 1e-5, 30 epochs of batch 512), test split.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from torch import nn

MEAN, STD = 0.2860, 0.3530
DEFAULT_DATA = '/usr/share/datasets/fashion-mnist'


# ---------------------------------------------------------------- data

def read_idx_gz(path):
    """An IDX file (the MNIST format), gzip-compressed, as a uint8 array of its shape."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], 'big') for k in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(data_dir, split):
    """(images [n, 28, 28] uint8, labels [n] uint8) of 'train' or 't10k'."""
    images = read_idx_gz(os.path.join(data_dir, f'{split}-images-idx3-ubyte.gz'))
    labels = read_idx_gz(os.path.join(data_dir, f'{split}-labels-idx1-ubyte.gz'))
    return images, labels


def view_transform():
    """One random view of a PIL image, as a normalised [1, 28, 28] tensor."""
    jitter = T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4)], p=0.8)
    return T.Compose([T.RandomResizedCrop(28, scale=(0.2, 1.0)), T.RandomHorizontalFlip(), jitter,
                      T.ToTensor(), T.Normalize((MEAN,), (STD,))])


class PairsOfViews(torch.utils.data.Dataset):
    """Item i: two independent views of training image i (labels are not used)."""

    def __init__(self, images):
        self.images = images
        self.transform = view_transform()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image
        picture = Image.fromarray(self.images[i])
        return self.transform(picture), self.transform(picture)


def as_input(images):
    """uint8 [n, 28, 28] -> normalised float [n, 1, 28, 28] (no augmentation: evaluation)."""
    return ((torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD).unsqueeze(1)


# ---------------------------------------------------------------- model

def conv_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def make_encoder(arch):
    """(encoder, feature dimension)."""
    if arch == 'small':
        body = nn.Sequential(conv_block(1, 32), conv_block(32, 64), nn.MaxPool2d(2),
                             conv_block(64, 128), nn.MaxPool2d(2), conv_block(128, 256),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())
        return body, 256
    if arch == 'resnet18':
        import torchvision
        net = torchvision.models.resnet18(num_classes=10)
        net.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)  # 28x28 inputs: no stride, no max-pool
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        return net, 512
    raise SystemExit(f"simclr_peer: unknown --arch '{arch}' (small or resnet18)")


def make_head(dim):
    return nn.Sequential(nn.Linear(dim, 512), nn.ReLU(inplace=True), nn.Linear(512, 128))


def nt_xent(z1, z2, temperature):
    """SimCLR's loss: each of the 2n views must pick its partner among the other 2n - 1."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.t() / temperature
    logits.fill_diagonal_(-1e9)  # a view is not its own candidate
    partner = torch.cat([torch.arange(n) + n, torch.arange(n)])
    return F.cross_entropy(logits, partner)


# ---------------------------------------------------------------- runs

def augmentation_rate(images, n):
    """Two-view augmentations per second on this process's one core (as contra's bench_augment)."""
    pairs = PairsOfViews(images)
    start = time.time()
    for i in range(n):
        pairs[i % len(pairs)]
    return n / (time.time() - start)


def train(args, images):
    """Trains encoder + head; returns (encoder, steps, seconds)."""
    encoder, dim = make_encoder(args.arch)
    head = make_head(dim)
    params = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=0.3 * args.bs / 256, momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(PairsOfViews(images), batch_size=args.bs, shuffle=True,
                                         drop_last=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    total = args.max_steps if args.max_steps > 0 else int(args.epochs * len(loader))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    step, waited = 0, 0.0
    start = time.time()
    while step < total:
        asked = time.time()
        for v1, v2 in loader:
            waited += time.time() - asked
            loss = nt_xent(head(encoder(v1)), head(encoder(v2)), args.tau)
            optimizer.zero_grad()
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
    return encoder, step, time.time() - start


@torch.no_grad()
def features(encoder, images, chunk=1000):
    encoder.eval()
    out = torch.cat([encoder(as_input(images[i:i + chunk])) for i in range(0, len(images), chunk)])
    encoder.train()
    return out


def knn_accuracy(train_f, train_y, test_f, test_y, k=200, t=0.1, classes=10):
    """Weighted kNN on cosine similarity: each neighbour votes exp(similarity / t)."""
    train_f, test_f = F.normalize(train_f, dim=1), F.normalize(test_f, dim=1)
    train_y = torch.from_numpy(train_y.astype(np.int64))
    test_y = torch.from_numpy(test_y.astype(np.int64))
    right = 0
    for i in range(0, len(test_f), 500):
        sim, nearest = (test_f[i:i + 500] @ train_f.t()).topk(k, dim=1)
        votes = torch.zeros(len(nearest), classes).scatter_add_(1, train_y[nearest], (sim / t).exp())
        right += int((votes.argmax(1) == test_y[i:i + 500]).sum())
    return right / len(test_f)


def linear_accuracy(train_f, train_y, test_f, test_y, epochs=30, classes=10):
    """A linear classifier on standardised frozen features (Adam, mini-batches of 512)."""
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6
    train_f, test_f = (train_f - mean) / std, (test_f - mean) / std
    probe = nn.Linear(train_f.shape[1], classes)
    optimizer = torch.optim.Adam(probe.parameters(), 1e-3, weight_decay=1e-5)
    labels = torch.from_numpy(train_y.astype(np.int64))
    for _ in range(epochs):
        order = torch.randperm(len(train_f))
        for i in range(0, len(train_f), 512):
            rows = order[i:i + 512]
            loss = F.cross_entropy(probe(train_f[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return float((probe(test_f).argmax(1).numpy() == test_y).mean())


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text} is not a positive integer')
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Plain PyTorch SimCLR on Fashion-MNIST (contra\'s peer).')
    p.add_argument('--arch', default='small', choices=['small', 'resnet18'])
    p.add_argument('--epochs', type=float, default=1, help='training length in epochs (default 1)')
    p.add_argument('--max-steps', type=int, default=0, help='train this many steps instead of --epochs')
    p.add_argument('--bs', type=positive_int, default=256, help='batch size (pairs per step)')
    p.add_argument('--workers', type=int, default=2, help='DataLoader worker processes')
    p.add_argument('--threads', type=positive_int, default=2, help='intra-op threads')
    p.add_argument('--tau', type=float, default=0.5, help='NT-Xent temperature')
    p.add_argument('--eval', action='store_true', help='kNN and linear probe on the test split after training')
    p.add_argument('--aug-bench', type=int, default=0, metavar='N',
                   help='time N two-view augmentations on one core, print AUG ... and exit')
    p.add_argument('--log-every', type=positive_int, default=20, help='steps between progress lines')
    p.add_argument('--data-dir', default=DEFAULT_DATA, help=f'Fashion-MNIST .gz files (default {DEFAULT_DATA})')
    p.add_argument('--summary', metavar='FILE', help='also write the results as JSON to FILE')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {'peer': 'simclr_peer', 'arch': args.arch, 'threads': args.threads}
    train_x, train_y = load_split(args.data_dir, 'train')
    if args.aug_bench > 0:
        rate = augmentation_rate(train_x, args.aug_bench)
        print(f'AUG torchvision two-view images_per_s_per_core={rate:.1f}', flush=True)
        results.update(aug_images=args.aug_bench, images_per_s_per_core=rate)
    else:
        encoder, steps, seconds = train(args, train_x)
        rate = steps * args.bs / seconds
        print(f'TRAIN {args.arch} steps={steps} bs={args.bs} time={seconds:.1f}s pairs_per_s={rate:.1f}',
              flush=True)
        results.update(steps=steps, batch_size=args.bs, wall_s=seconds, pairs_per_s=rate)
        if args.eval:
            start = time.time()
            test_x, test_y = load_split(args.data_dir, 't10k')
            train_f, test_f = features(encoder, train_x), features(encoder, test_x)
            knn = knn_accuracy(train_f, train_y, test_f, test_y)
            linear = linear_accuracy(train_f, train_y, test_f, test_y)
            spent = time.time() - start
            print(f'KNN {knn:.4f} LINEAR {linear:.4f} eval_time={spent:.1f}s', flush=True)
            results.update(knn_acc=knn, linear_acc=linear, eval_s=spent)
    if args.summary:
        with open(args.summary, 'w') as f:
            json.dump(results, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
