#!/usr/bin/python3
"""dlen_twin.py: the PyTorch peer of the engine for bench/speed.sh (DESIGN §8).

The same architectures as engine/dlen-model.c (DLEN, PLE, MMoE, Shared-Bottom), the same losses
and optimiser as engine/dlen-train.c, and the KuaiRand preset of app/dlen-loader.c, so that the
two can be timed against each other on the same log with the same parameter count.

What is timed:
  training  one epoch of optimisation steps over the training rows (date < --split-date), batch
            --batch-size, shuffled; per step the batch's index gather, forward, loss, backward,
            Adam (dense, L2 on weights only) and SparseAdam (embeddings). Same definition as the
            engine's samples_per_second: optimisation steps only, no validation pass.
  scoring   every row of the log, batch 2048, eval mode under torch.no_grad(), computing each
            target's probability (stay: expected seconds) and p_e like dlen_model_predict.
The log is read and turned into index tensors once, before any timing.

Choices that make this peer as fast as idiomatic PyTorch allows (it should be a fair opponent):
all categorical fields share one nn.Embedding(sparse=True) with per-field row offsets (the
engine's layout too: one lookup instead of one per field); the heads' maths is vectorised over
targets; dense Adam is torch 1.13's default per-tensor loop (its foreach variant measured ~4 %
slower here, see --foreach); denormals are flushed to zero as the engine does while training;
the thread count is set for ATen, OpenMP and OpenBLAS alike, and OpenMP's idle workers wait
passively (spinning ones fight OpenBLAS's for the cores).
Each expert, gate and tower is its own module, one GEMM per layer, as in the engine; --fused
instead computes the first layers of all level-0 experts and gates in one GEMM and the towers as
batched matmuls (same parameters, fewer and larger operations: a stronger peer than the
engine's own layout, for reference).

Usage (run with /usr/bin/python3, which needs only torch and numpy):
  dlen_twin.py LOG [--arch dlen|ple|mmoe|shared-bottom] [--threads T] [--epochs N] [--json]
  dlen_twin.py LOG --count-only          # print the number of trainable parameters and exit
Hashing differs from the engine's (a dict of value -> index within the field's table); table
sizes and therefore parameter counts are the same.
"""
import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import sys
import time

SPLIT_DAY_DEFAULT = 20220419
USER_CATS = ["user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
             "follow_user_num_range", "fans_user_num_range", "friend_user_num_range",
             "register_days_range"] + ["onehot_feat%d" % i for i in range(18)]
USER_NUMS = ["follow_user_num", "fans_user_num", "friend_user_num", "register_days"]
# (log column, target name, polarity, weak source); polarity 0 neutral, 1 positive, 2 negative.
BINARY = [("is_click", "click", 0, False), ("long_view", "long_view", 1, False),
          ("is_comment", "comment", 1, False), ("is_follow", "follow", 1, False),
          ("is_forward", "forward", 1, False), ("is_profile_enter", "profile_enter", 0, False)]


def parse_args(argv):
    ap = argparse.ArgumentParser(description="PyTorch twin of the DLEN engine (speed peer).")
    ap.add_argument("log")
    ap.add_argument("--arch", default="dlen", choices=["dlen", "ple", "mmoe", "shared-bottom"])
    ap.add_argument("--user-features", default=None)
    ap.add_argument("--no-user-features", action="store_true")
    ap.add_argument("--split-date", type=int, default=SPLIT_DAY_DEFAULT)
    ap.add_argument("--emb-dim", type=int, default=16)
    ap.add_argument("--expert-units", default="64")
    ap.add_argument("--tower-units", default="32")
    ap.add_argument("--shared-experts", type=int, default=-1)
    ap.add_argument("--task-experts", type=int, default=1)
    ap.add_argument("--levels", type=int, default=1)
    ap.add_argument("--emotion-weight", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--l2", type=float, default=1e-6)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blas-threads", type=int, default=0, help="OpenBLAS threads (default: --threads)")
    ap.add_argument("--omp-active", action="store_true", help="leave OMP_WAIT_POLICY unset (spinning workers)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--score-batch", type=int, default=2048)
    ap.add_argument("--score-reps", type=int, default=5, help="timed scoring passes after an untimed one (the best counts)")
    ap.add_argument("--no-score", action="store_true")
    ap.add_argument("--foreach", action="store_true", help="multi-tensor dense Adam (slower here)")
    ap.add_argument("--fused", action="store_true",
                    help="one GEMM for the first layers of all level-0 experts and gates, batched towers")
    ap.add_argument("--count-only", action="store_true")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args(argv)


# ---- The KuaiRand preset (app/dlen-loader.c) -----------------------------------------------

def weekday_of(day):
    return datetime.date(day // 10000, (day // 100) % 100, day % 100).weekday()


def parse_float(text):
    text = text.strip()
    return float(text) if text else math.nan


def load_kuairand(path, user_features):
    """Rows as (cat value texts, numeric values, labels, day). Missing numbers and labels: NaN."""
    join = None
    if user_features:
        with open(user_features, newline="") as f:
            join = {r["user_id"]: r for r in csv.DictReader(f)}
    cat_names = ["user_id", "video_id", "hour", "weekday", "duration_bucket"]
    num_names = []
    if join is not None:
        cat_names += USER_CATS
        num_names = list(USER_NUMS)
    cats, nums, labels, days = [], [], [], []
    with open(path, newline="") as f:
        delim = "\t" if f.readline().count("\t") else ","
        f.seek(0)
        for r in csv.DictReader(f, delimiter=delim):
            day = int(r["date"])
            dur = float(r["duration_ms"])
            c = [r["user_id"], r["video_id"], str(int(float(r["hourmin"])) // 100), str(weekday_of(day)),
                 "unknown" if dur <= 0 else str(int(math.floor(math.log2(1.0 + dur / 1000.0) * 2.0)))]
            n = []
            if join is not None:
                u = join.get(r["user_id"])
                c += [u[k] if u else "" for k in USER_CATS]
                n = [parse_float(u[k]) if u else math.nan for k in USER_NUMS]
            y = [parse_float(r[col]) for col, _, _, _ in BINARY]
            lab = parse_float(r["label"])
            y += [lab, 1.0 - lab]                      # like = label 1, hate = label 0
            y.append(parse_float(r["play_time_ms"]) / 1000.0)
            cats.append(c)
            nums.append(n)
            labels.append(y)
            days.append(day)
    targets = [(name, "binary", pol, weak) for _, name, pol, weak in BINARY]
    targets += [("like", "binary", 1, True), ("hate", "binary", 2, True), ("stay", "duration", 0, False)]
    return cat_names, num_names, targets, cats, nums, labels, days


def buckets_for(distinct):
    b = 16
    while b < distinct * 4 and b < (1 << 22):
        b <<= 1
    return b


def field_index(field, value, buckets):
    h = hashlib.blake2b(("%d\0%s" % (field, value)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") % buckets


# ---- The model (engine/dlen-model.c) -------------------------------------------------------

def build_model(torch, nn, F, n_fields, buckets, n_num, targets, args):
    arch = args.arch
    d = args.emb_dim
    expert_units = [int(u) for u in args.expert_units.split(",") if u]
    tower_units = [int(u) for u in args.tower_units.split(",") if u]
    shared = args.shared_experts
    if shared < 0:
        shared = 4 if arch == "mmoe" else 1 if arch == "shared-bottom" else 2
    task_experts, levels = args.task_experts, args.levels
    if arch == "shared-bottom":
        shared = 1
    if arch in ("shared-bottom", "mmoe"):
        task_experts, levels = 0, 1
    n_targets = len(targets)
    T = n_targets + (1 if arch == "dlen" else 0)
    emotion_task = n_targets if arch == "dlen" else -1
    d_in = n_fields * d + n_num
    h = expert_units[-1]

    def linear(i, o):
        lin = nn.Linear(i, o)
        bound = 1.0 / math.sqrt(i)     # the engine's init: U(-1/sqrt(in), 1/sqrt(in)) for both
        nn.init.uniform_(lin.weight, -bound, bound)
        nn.init.uniform_(lin.bias, -bound, bound)
        return lin

    def mlp(i, units, out_last, relu_out):
        layers, dims = [], [i] + list(units) + ([out_last] if out_last else [])
        for k in range(len(dims) - 1):
            layers.append(linear(dims[k], dims[k + 1]))
            if k + 2 < len(dims) or relu_out:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class Level(nn.Module):
        def __init__(self, d_in, last, fuse):
            super().__init__()
            # Experts of group g (tasks 0..T-1, then the shared group T).
            self.group_of = []
            for g in range(T + 1):
                self.group_of += [g] * (task_experts if g < T else shared)
            n_exp = len(self.group_of)
            first = [self.group_of.index(g) if g in self.group_of else None for g in range(T + 1)]
            self.gate_input, self.cands = [], []
            for t in range(T + (0 if last else 1)):
                if t < T:
                    self.cands.append([e for e, g in enumerate(self.group_of) if g == t or g == T])
                    self.gate_input.append(t if first[t] is not None else T)
                else:
                    self.cands.append(list(range(n_exp)))
                    self.gate_input.append(T)
            # --fused: every expert and gate of this level reads the same input, so their first
            # layers are one Linear (the same parameters, concatenated) and one GEMM.
            self.fuse = fuse
            if fuse:
                self.widths = [expert_units[0]] * n_exp + [len(c) for c in self.cands if len(c) > 1]
                self.first = linear(d_in, sum(self.widths))
                self.experts = nn.ModuleList([mlp(expert_units[0], expert_units[1:], 0, True)
                                              for _ in range(n_exp)])
                self.cand_t = [torch.tensor(c) for c in self.cands]
            else:
                self.experts = nn.ModuleList([mlp(d_in, expert_units, 0, True) for _ in range(n_exp)])
                self.gates = nn.ModuleList([linear(d_in, len(c)) if len(c) > 1 else nn.Identity()
                                            for c in self.cands])

        def forward(self, inputs):
            mixed = []
            if self.fuse:
                parts = self.first(inputs[0]).split(self.widths, dim=1)
                outs = [e(F.relu(parts[i])) for i, e in enumerate(self.experts)]
                stacked = torch.stack(outs, dim=1)
                logits = iter(parts[len(outs):])
                for t, cand in enumerate(self.cands):
                    if len(cand) == 1:
                        mixed.append(outs[cand[0]])
                    else:
                        prob = F.softmax(next(logits), dim=1)
                        mixed.append(torch.bmm(prob.unsqueeze(1), stacked[:, self.cand_t[t]]).squeeze(1))
                return mixed
            outs = [e(inputs[g]) for e, g in zip(self.experts, self.group_of)]
            for t, gate in enumerate(self.gates):
                cand = self.cands[t]
                if len(cand) == 1:               # a gate with one candidate is no gate
                    mixed.append(outs[cand[0]])
                    continue
                prob = F.softmax(gate(inputs[self.gate_input[t]]), dim=1)
                stacked = torch.stack([outs[c] for c in cand], dim=1)
                mixed.append(torch.bmm(prob.unsqueeze(1), stacked).squeeze(1))
            return mixed

    class TowerBank(nn.Module):
        """--fused: the T towers as batched matmuls (baddbmm) over stacked weights; output
        layers grouped by width. Same parameter count as T separate towers."""
        def __init__(self, widths):
            super().__init__()
            dims = [h] + list(tower_units)
            self.hidden_weight = nn.ParameterList()
            self.hidden_bias = nn.ParameterList()
            for k in range(len(dims) - 1):
                bound = 1.0 / math.sqrt(dims[k])
                self.hidden_weight.append(nn.Parameter(torch.empty(T, dims[k], dims[k + 1]).uniform_(-bound, bound)))
                self.hidden_bias.append(nn.Parameter(torch.empty(T, 1, dims[k + 1]).uniform_(-bound, bound)))
            self.groups = sorted(set(widths))
            self.members = [[t for t in range(T) if widths[t] == o] for o in self.groups]
            self.member_t = [torch.tensor(m) for m in self.members]
            bound = 1.0 / math.sqrt(dims[-1])
            self.out_weight = nn.ParameterList([nn.Parameter(torch.empty(len(m), dims[-1], o).uniform_(-bound, bound))
                                        for m, o in zip(self.members, self.groups)])
            self.out_bias = nn.ParameterList([nn.Parameter(torch.empty(len(m), 1, o).uniform_(-bound, bound))
                                        for m, o in zip(self.members, self.groups)])

        def forward(self, inputs):
            z = torch.stack(inputs[:T], dim=0)                       # T x B x h
            for w, b in zip(self.hidden_weight, self.hidden_bias):
                z = F.relu(torch.baddbmm(b, z, w))
            outs = [None] * T
            for m, mt, w, b in zip(self.members, self.member_t, self.out_weight, self.out_bias):
                o = torch.baddbmm(b, z[mt], w)
                for j, t in enumerate(m):
                    outs[t] = o[j]
            return outs

    pol = torch.tensor([tg[2] for tg in targets if tg[1] == "binary"])
    bin_idx = [k for k, tg in enumerate(targets) if tg[1] == "binary"]
    dur_idx = [k for k, tg in enumerate(targets) if tg[1] == "duration"]
    weak_pos = [k for k, tg in enumerate(targets) if tg[3] and tg[2] == 1]
    weak_neg = [k for k, tg in enumerate(targets) if tg[3] and tg[2] != 1]

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            offsets, total = [], 0
            for b in buckets:
                offsets.append(total)
                total += b
            self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.long))
            self.emb = nn.Embedding(total, d, sparse=True)
            nn.init.uniform_(self.emb.weight, -0.05, 0.05)
            self.levels = nn.ModuleList([Level(d_in if l == 0 else h, l + 1 == levels, args.fused and l == 0)
                                         for l in range(levels)])
            widths = [1 if (t == emotion_task or arch != "dlen") else 2 for t in range(T)]
            self.fused = args.fused
            if self.fused:
                self.towers = TowerBank(widths)
            else:
                self.towers = nn.ModuleList([mlp(h, tower_units, widths[t], False) for t in range(T)])
            self.register_buffer("pos", (pol == 1).unsqueeze(0))
            self.register_buffer("neg", (pol == 2).unsqueeze(0))
            self.register_buffer("neu", (pol == 0).unsqueeze(0))

        def forward(self, cat, num):
            x = self.emb(cat).flatten(1)
            if num.shape[1]:
                x = torch.cat([x, num], dim=1)
            inputs = [x] * (T + 1)
            for lv in self.levels:
                mixed = lv(inputs)
                if len(mixed) == T + 1:
                    inputs = mixed
                else:
                    inputs = mixed + [None]
            if self.fused:
                return self.towers(inputs)
            return [tw(inputs[t]) for t, tw in enumerate(self.towers)]

        # DLEN heads (engine: _dlen_head_binary / _dlen_head_stay), vectorised over targets.
        def dlen_args(self, outs):
            uv = torch.stack([outs[k] for k in bin_idx], dim=1)      # B x K x 2
            u, v = uv[..., 0], uv[..., 1]
            spv = F.softplus(v)
            aa = torch.where(self.neg, u - spv, u)
            ab = torch.where(self.pos, u - spv, torch.where(self.neg, u, v))
            return aa, ab

        def loss(self, outs, y, weak, weights):
            B = y.shape[0]
            yb = y[:, bin_idx]
            mask = ~torch.isnan(yb)
            yz = torch.nan_to_num(yb, nan=0.0)
            cnt = mask.sum(0).clamp(min=1)
            total = 0.0
            if arch == "dlen":
                le = outs[emotion_task][:, 0]
                lpe, lqe = F.logsigmoid(le).unsqueeze(1), F.logsigmoid(-le).unsqueeze(1)
                aa, ab = self.dlen_args(outs)
                s = 2.0 * yz - 1.0
                bce = -torch.logaddexp(lpe + F.logsigmoid(s * aa), lqe + F.logsigmoid(s * ab))
            else:
                z = torch.cat([outs[k] for k in bin_idx], dim=1)
                bce = F.binary_cross_entropy_with_logits(z, yz, reduction="none")
            total = ((bce * mask).sum(0) / cnt * weights[bin_idx]).sum()
            for k in dur_idx:
                yt = y[:, k]
                m = ~torch.isnan(yt)
                t = torch.log1p(torch.nan_to_num(yt, nan=0.0))
                if arch == "dlen":
                    o = outs[k]
                    pred = o[:, 0] - (1.0 - torch.sigmoid(le)) * F.softplus(o[:, 1])
                else:
                    pred = outs[k][:, 0]
                total = total + ((pred - t) ** 2 * m).sum() / m.sum().clamp(min=1) * weights[k]
            if arch == "dlen" and args.emotion_weight > 0:
                wm = weak >= 0
                be = F.binary_cross_entropy_with_logits(le, weak.clamp(min=0).float(), reduction="none")
                total = total + args.emotion_weight * (be * wm).sum() / B
            return total

        def predict(self, outs):
            cols = [None] * (len(targets) + 1)
            if arch == "dlen":
                le = outs[emotion_task][:, 0]
                lpe, lqe = F.logsigmoid(le).unsqueeze(1), F.logsigmoid(-le).unsqueeze(1)
                aa, ab = self.dlen_args(outs)
                p = torch.exp(torch.logaddexp(lpe + F.logsigmoid(aa), lqe + F.logsigmoid(ab)))
                pe = torch.sigmoid(le)
            else:
                p = torch.sigmoid(torch.cat([outs[k] for k in bin_idx], dim=1))
                pe = torch.full_like(outs[0][:, 0], math.nan)
            for j, k in enumerate(bin_idx):
                cols[k] = p[:, j]
            for k in dur_idx:
                o = outs[k]
                lg = o[:, 0] - (1.0 - pe) * F.softplus(o[:, 1]) if arch == "dlen" else o[:, 0]
                cols[k] = torch.expm1(lg).clamp(min=0.0)
            cols[-1] = pe
            return torch.stack(cols, dim=1)

    model = Twin()
    weak_idx = (weak_pos, weak_neg)
    return model, weak_idx


def main(argv):
    args = parse_args(argv)
    # The thread count of every pool torch may use, before torch starts them.
    blas_threads = args.blas_threads if args.blas_threads > 0 else args.threads
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    os.environ["MKL_NUM_THREADS"] = str(blas_threads)
    # OpenMP's workers spin after each parallel region by default; beside OpenBLAS's own workers
    # that oversubscribes the cores and made this peer 3-10x slower at 2 threads than at 1 on a
    # 2-CPU machine. Passive waiting is its best setting there, so it is the default.
    if not args.omp_active:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import warnings
    # Flushing denormals makes numpy's finfo warn that the smallest subnormal is zero.
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)

    uf = args.user_features
    if not uf and not args.no_user_features:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.log)), "user_features.csv")
        uf = beside if os.path.exists(beside) else None
    t0 = time.perf_counter()
    cat_names, num_names, targets, cats, nums, labels, days = load_kuairand(args.log, uf)
    n_rows, n_fields = len(cats), len(cat_names)
    buckets, cat_idx = [], np.empty((n_rows, n_fields), dtype=np.int64)
    for f in range(n_fields):
        values = {}
        for r in range(n_rows):
            values.setdefault(cats[r][f], None)
        b = buckets_for(len(values))
        buckets.append(b)
        index = {v: field_index(f, v, b) for v in values}
        cat_idx[:, f] = [index[cats[r][f]] for r in range(n_rows)]

    model, (weak_pos, weak_neg) = build_model(torch, nn, F, n_fields, buckets, len(num_names), targets, args)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if args.count_only:
        if args.json:
            print(json.dumps({"arch": args.arch, "parameters": n_params}))
        else:
            print(n_params)
        return 0

    days = np.asarray(days)
    train = np.nonzero(days < args.split_date)[0]
    num = np.asarray(nums, dtype=np.float64).reshape(n_rows, len(num_names))
    # Standardisation fitted on the training rows: log1p(max(x, 0)), missing -> 0.
    num = np.log1p(np.maximum(num, 0.0))
    for j in range(num.shape[1]):
        col = num[train, j]
        col = col[~np.isnan(col)]
        mean = col.mean() if col.size else 0.0
        var = (col ** 2).mean() - mean * mean if col.size else 1.0
        std = math.sqrt(var) if var > 1e-12 else 1.0
        num[:, j] = (num[:, j] - mean) / std
    num = np.nan_to_num(num, nan=0.0)
    y = np.asarray(labels, dtype=np.float32)
    pos_hit = np.zeros(n_rows, dtype=bool)
    neg_hit = np.zeros(n_rows, dtype=bool)
    for k in weak_pos:
        pos_hit |= y[:, k] == 1.0
    for k in weak_neg:
        neg_hit |= y[:, k] == 1.0
    weak = np.where(pos_hit == neg_hit, -1, np.where(pos_hit, 1, 0)).astype(np.int64)

    # Whole-log tensors, the categorical indices already offset into the one table.
    cat_t = torch.from_numpy(cat_idx) + model.offsets.unsqueeze(0)
    num_t = torch.from_numpy(num.astype(np.float32))
    y_t = torch.from_numpy(y)
    weak_t = torch.from_numpy(weak)
    train_t = torch.from_numpy(train)
    weights = torch.ones(len(targets))
    load_secs = time.perf_counter() - t0

    # L2 on dense weights only, as the engine: every parameter but the embeddings is one or the other.
    dense = [(n, p) for n, p in model.named_parameters() if n != "emb.weight"]
    decay = [p for n, p in dense if "bias" not in n]
    no_decay = [p for n, p in dense if "bias" in n]
    foreach = args.foreach
    dense_opt = torch.optim.Adam([{"params": decay, "weight_decay": args.l2},
                                  {"params": no_decay, "weight_decay": 0.0}],
                                 lr=args.lr, betas=(0.9, 0.999), eps=1e-8, foreach=foreach)
    sparse_opt = torch.optim.SparseAdam([model.emb.weight], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    B = args.batch_size
    n_train = train_t.numel()
    steps = (n_train + B - 1) // B
    gen = torch.Generator().manual_seed(args.seed)
    train_secs, samples, loss_sum = 0.0, 0, 0.0
    model.train()
    for _ in range(args.epochs):
        order = train_t[torch.randperm(n_train, generator=gen)]
        t1 = time.perf_counter()
        for s in range(steps):
            bi = order[s * B:(s + 1) * B]
            outs = model(cat_t[bi], num_t[bi])
            loss = model.loss(outs, y_t[bi], weak_t[bi], weights)
            dense_opt.zero_grad(set_to_none=True)
            sparse_opt.zero_grad(set_to_none=True)
            loss.backward()
            dense_opt.step()
            sparse_opt.step()
            loss_sum += loss.item() * bi.numel()
            samples += bi.numel()
        train_secs += time.perf_counter() - t1
    result = {"arch": args.arch, "threads": args.threads, "parameters": n_params, "train_rows": n_train,
              "epochs": args.epochs, "batch_size": B, "train_loss": loss_sum / max(samples, 1),
              "samples_per_second": samples / train_secs, "blas_threads": blas_threads, "fused": args.fused, "train_seconds": train_secs,
              "load_seconds": load_secs, "torch": torch.__version__}

    if not args.no_score:
        model.eval()
        out = torch.empty(n_rows, len(targets) + 1)
        best = math.inf
        SB = args.score_batch
        with torch.no_grad():
            for rep in range(1 + max(1, args.score_reps)):
                t1 = time.perf_counter()
                for i in range(0, n_rows, SB):
                    outs = model(cat_t[i:i + SB], num_t[i:i + SB])
                    out[i:i + SB] = model.predict(outs)
                if rep > 0:                        # the first pass warms up, as in score-bench
                    best = min(best, time.perf_counter() - t1)
        result["score_rows"] = n_rows
        result["score_rows_per_second"] = n_rows / best
        result["score_mean_pe"] = float(out[:, -1].mean()) if args.arch == "dlen" else None

    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%-22s %s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
