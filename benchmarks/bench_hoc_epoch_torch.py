"""PyTorch peer of the Hallmarks of Cancer programs (examples/hoc_*.cpp): the same three models
(Kim CNN, BiGRU with max pooling, Transformer encoder), the same data shapes (the training
abstracts tokenized much alike, 384 tokens, batch 32 cut to its longest abstract as the xgrad
programs do, a vocabulary of the words seen twice), the same loss (BCE with pos_weight) and
optimizer (Adam at each program's default rate); prints the median time of a training epoch. The
GRU runs on packed sequences, PyTorch's own way of skipping the padding.

    /usr/bin/python3 benchmarks/bench_hoc_epoch_torch.py --model cnn --threads 1 [--epochs 3]

Output: one line "torch<TAB>model<TAB>threads<TAB>seconds per epoch".
"""
import argparse
import collections
import os
import re
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_positions import sinusoid_table

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["proliferative_signaling", "growth_suppressors", "cell_death", "replicative_immortality", "angiogenesis",
          "invasion_metastasis", "genomic_instability", "inflammation", "cellular_energetics", "immune_destruction"]


def tokenize(text):
    # xgrad's data::tokenize: lower-case, split on what is not a letter or digit, numbers -> <num>.
    tokens = re.findall(r"[a-z0-9\x80-\uffff]+(?:[.,][0-9]+)*", text.lower())
    return ["<num>" if re.fullmatch(r"[0-9.,]+", t) else t for t in tokens]


def read_abstracts(path):
    abstracts = collections.OrderedDict()
    for line in open(path, encoding="utf-8"):
        pmid, _, labels, sentence = line.rstrip("\n").split("\t", 3)
        entry = abstracts.setdefault(pmid, [[], set()])
        entry[0].extend(tokenize(sentence))
        entry[1].update(l for l in labels.split(",") if l != "none")
    return list(abstracts.values())


def encode(abstracts, vocab, max_tokens):
    n = len(abstracts)
    indices = torch.zeros(n, max_tokens, dtype=torch.long)
    lengths = torch.zeros(n, dtype=torch.long)
    targets = torch.zeros(n, 10)
    for i, (tokens, labels) in enumerate(abstracts):
        ids = [vocab.get(t, 1) for t in tokens[:max_tokens]]
        indices[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        lengths[i] = max(len(ids), 1)
        for l in labels:
            targets[i, LABELS.index(l)] = 1
    return indices, lengths, targets


class KimCnn(nn.Module):
    def __init__(self, vocab, dim=100, filters=100):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(0.2)
        self.widths = [3, 4, 5]
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in self.widths)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(3 * filters, 10)

    def forward(self, indices, lengths):
        x = self.embedding_dropout(self.embedding(indices)).transpose(1, 2)
        pooled = []
        for width, conv in zip(self.widths, self.convs):
            maps = F.relu(conv(x))
            starts = torch.arange(maps.size(2)).unsqueeze(0)
            outside = (starts > (lengths - width).clamp(min=0).unsqueeze(1)).unsqueeze(1)
            pooled.append(maps.masked_fill(outside, -1e30).amax(2))
        return self.out(self.dropout(torch.cat(pooled, 1)))


class BiGruMax(nn.Module):
    def __init__(self, vocab, dim=100, hidden=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(0.3)
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(2 * hidden, 10)

    def forward(self, indices, lengths):
        x = self.embedding_dropout(self.embedding(indices))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=indices.size(1))
        pooled = h.masked_fill((indices == 0).unsqueeze(2), -1e30).amax(1)
        return self.out(self.dropout(pooled))


class TextTransformer(nn.Module):
    def __init__(self, vocab, max_tokens, dim=100, heads=4, layers=2):
        super().__init__()
        self.dim = dim
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(0.1)
        self.register_buffer("pe", sinusoid_table(max_tokens, dim))
        self.position_dropout = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, 0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.dropout = nn.Dropout(0.3)
        self.out = nn.Linear(dim, 10)

    def forward(self, indices, lengths):
        padding = indices == 0
        x = self.embedding_dropout(self.embedding(indices))
        x = self.position_dropout(x + self.pe[: indices.size(1)])
        h = self.encoder(x, src_key_padding_mask=padding)
        real = (~padding).float().unsqueeze(2)
        return self.out(self.dropout((h * real).sum(1) / real.sum(1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["cnn", "bigru", "transformer"], required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=384)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = read_abstracts(os.path.join(HERE, "..", "datasets", "hoc", "train.tsv"))
    counts = collections.Counter(t for tokens, _ in train for t in tokens)
    words = sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))
    vocab = {w: i + 2 for i, w in enumerate(words)}
    indices, lengths, targets = encode(train, vocab, args.max_tokens)
    size = len(vocab) + 2
    model = {"cnn": lambda: KimCnn(size), "bigru": lambda: BiGruMax(size),
             "transformer": lambda: TextTransformer(size, args.max_tokens)}[args.model]()
    lr = {"cnn": 1e-3, "bigru": 2e-3, "transformer": 1e-3}[args.model]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    positives = targets.sum(0)
    pos_weight = (len(train) - positives) / positives.clamp(min=1)
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train))
        for begin in range(0, len(train), 32):
            idx = order[begin:begin + 32]
            optimizer.zero_grad()
            longest = max(int(lengths[idx].max()), 5)
            logits = model(indices[idx, :longest], lengths[idx])
            loss = F.binary_cross_entropy_with_logits(logits, targets[idx], pos_weight=pos_weight)
            loss.backward()
            optimizer.step()
            if args.model == "cnn":  # max-norm 3 on the output rows, as the xgrad program
                with torch.no_grad():
                    w = model.out.weight
                    w.mul_((3.0 / w.norm(dim=1, keepdim=True).clamp(min=3.0)))
        times.append(time.perf_counter() - start)
    print(f"torch\t{args.model}\t{args.threads}\t{statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
