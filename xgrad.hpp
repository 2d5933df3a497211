#pragma once
/// xgrad: everything a user needs, in one include.
#include <xgrad/autograd/autograd.hpp>
#include <xgrad/data/data.hpp>
#include <xgrad/distributed/data_parallel.hpp>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/distributed/sync_batch_norm.hpp>
#include <xgrad/io/checkpoint.hpp>
#include <xgrad/metrics/metrics.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/tensor/tensor.hpp>
#include <xgrad/training/training.hpp>
