#!/usr/bin/env python3
"""How tight is qbench's top-k KLD? Full-vocabulary KLD vs the top-k + remainder form, per token.

Input: `qbench perplexity --logits-out FILE` of the base and of a variant on the same --ctx and
--chunks (float32 [chunk][position][vocab]). For every scored position (llama-perplexity's second
half: n_ctx/2 .. n_ctx-2) it computes in float64 the full KLD(base || variant) and the KLD over the
base's top k tokens (ties: lower id first) plus one bucket for the rest, which qbench keeps
(harness/model/kld.h). Prints both means, their ratio and the largest per-token shortfall.

usage: kld_topk_bound.py BASE.bin VARIANT.bin --ctx 64 --vocab 262144 [--k 32]
"""
import argparse

import numpy as np


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("variant")
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--k", type=int, default=32)
    a = ap.parse_args()
    b = np.fromfile(a.base, dtype=np.float32).reshape(-1, a.ctx, a.vocab)
    v = np.fromfile(a.variant, dtype=np.float32).reshape(-1, a.ctx, a.vocab)
    assert b.shape == v.shape, (b.shape, v.shape)
    full, topk = [], []
    for c in range(b.shape[0]):
        for i in range(a.ctx // 2, a.ctx - 1):
            lp, lq = log_softmax(b[c, i]), log_softmax(v[c, i])
            p = np.exp(lp)
            full.append(float(np.sum(p * (lp - lq))))
            order = np.lexsort((np.arange(a.vocab), -b[c, i]))[: a.k]  # logit desc, id asc
            mask = np.zeros(a.vocab, dtype=bool)
            mask[order] = True
            kl = float(np.sum(p[order] * (lp[order] - lq[order])))
            pr, qr = p[~mask].sum(), np.exp(lq[~mask]).sum()
            if pr > 0:
                kl += pr * (np.log(pr) - np.log(qr))
            topk.append(kl)
    full, topk = np.array(full), np.array(topk)
    print(f"tokens {len(full)}  k {a.k}")
    print(f"full-vocab KLD mean {full.mean():.6f}  top-{a.k}+rest mean {topk.mean():.6f}  ratio {topk.mean() / full.mean():.4f}")
    print(f"p99: full {np.percentile(full, 99):.6f}  top-k {np.percentile(topk, 99):.6f}")
    print(f"largest per-token shortfall {np.max(full - topk):.6f} nats; min per-token ratio "
          f"{np.min(topk[full > 1e-6] / full[full > 1e-6]):.4f}; top-k > full anywhere: {bool(np.any(topk > full + 1e-12))}")


if __name__ == "__main__":
    main()
