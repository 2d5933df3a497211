#pragma once
/// The autograd layer: Tensor, its ops, the engine, grad mode, custom functions and gradcheck.
#include <xgrad/autograd/engine.hpp>
#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/gradcheck.hpp>
#include <xgrad/autograd/indexing.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor.hpp>
