"""The plain PyTorch NT-Xent a Python user would write (normalise, full [2N, 2N] similarity
matrix, masked diagonal, cross entropy), measured as bench_loss measures contra's: forward +
backward time (best of the timed repeats) and peak resident memory (VmHWM) of this process.
Run with Debian's python3-torch:
  /usr/bin/python3 bench/peers/peer_loss.py --pairs 8192 [--dim 128] [--threads 2] [--device cpu|cuda]
Prints: LOSS impl=peer objective=nt_xent device=... pairs=... fwd_s=... fwd_bwd_s=...
        peak_rss_mb=... base_rss_mb=... [cuda_peak_mb=...] loss=..."""
import argparse, time
import torch
import torch.nn.functional as F


def status_mb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.0
    return -1.0


def nt_xent(z1, z2, tau):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.t() / tau
    sim.fill_diagonal_(float('-inf'))
    tgt = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, tgt)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--pairs', type=int, default=2048)
    p.add_argument('--dim', type=int, default=128)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--temperature', type=float, default=0.1)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--repeats', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.manual_seed(0)
    z1 = torch.randn(a.pairs, a.dim, device=dev).requires_grad_()
    z2 = (z1.detach() + 0.5 * torch.randn_like(z1)).requires_grad_()
    z1.grad = torch.zeros_like(z1)
    z2.grad = torch.zeros_like(z2)
    w1 = z1.detach()[:64].clone().requires_grad_()  # warm-up, as bench_loss
    nt_xent(w1, z2.detach()[:64].clone(), a.temperature).backward()
    sync()
    base = status_mb('VmRSS')
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    best_f = best_t = float('inf')
    loss = 0.0
    for r in range(a.warmup + a.repeats):
        z1.grad.zero_(); z2.grad.zero_()
        sync(); t0 = time.perf_counter()
        out = nt_xent(z1, z2, a.temperature)
        sync(); t1 = time.perf_counter()
        out.backward()
        sync(); t2 = time.perf_counter()
        loss = out.item()
        del out
        if r >= a.warmup:
            best_f, best_t = min(best_f, t1 - t0), min(best_t, t2 - t0)
    line = (f'LOSS impl=peer objective=nt_xent device={a.device} pairs={a.pairs} dim={a.dim} '
            f'threads={torch.get_num_threads()} fwd_s={best_f:.4f} fwd_bwd_s={best_t:.4f} '
            f'peak_rss_mb={status_mb("VmHWM"):.0f} base_rss_mb={base:.0f} '
            f'emb_mb={4 * a.pairs * a.dim * 4 / 2**20:.1f}')
    if dev.type == 'cuda':
        line += f' cuda_peak_mb={torch.cuda.max_memory_allocated() / 2**20:.0f}'
    print(line + f' loss={loss:.6f}', flush=True)


if __name__ == '__main__':
    main()
