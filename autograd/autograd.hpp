#pragma once
/// The autograd layer: Tensor, its ops, the engine, grad mode, custom functions and gradcheck.
#include "autograd/engine.hpp"
#include "autograd/function.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/node.hpp"
#include "autograd/ops.hpp"
#include "autograd/tensor.hpp"
