#pragma once
/// xgrad: everything a user needs, in one include.
#include "autograd/autograd.hpp"
#include "data/data.hpp"
#include "io/checkpoint.hpp"
#include "metrics/metrics.hpp"
#include "nn/nn.hpp"
#include "optim/optim.hpp"
#include "training/training.hpp"
#include "tensor/tensor.hpp"
