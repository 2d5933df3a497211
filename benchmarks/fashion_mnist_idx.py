"""Fashion-MNIST from Debian's dataset-fashion-mnist, for the PyTorch peers of the benchmarks."""
import gzip

import numpy as np

FOLDER = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def training_set():
    """Images [60000, 28, 28] as float32 in [0, 1] and labels [60000] as int64."""
    images = read_idx(f"{FOLDER}/train-images-idx3-ubyte.gz").astype(np.float32) / 255
    labels = read_idx(f"{FOLDER}/train-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def standardized_training_set():
    """The training set as the main example feeds it: pixels [60000, 784] standardized per pixel
    (torch tensors), and labels."""
    import torch
    images, labels = training_set()
    images = images.reshape(-1, 784)
    std = images.std(0)
    return torch.from_numpy((images - images.mean(0)) / np.where(std == 0, 1, std)), torch.from_numpy(labels)


def mlp():
    """The main example's model without dropout: 784-256-256-10, ReLU."""
    import torch
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                               torch.nn.ReLU(), torch.nn.Linear(256, 10))
