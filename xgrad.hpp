#pragma once
/// xgrad: everything a user needs, in one include.
#include "autograd/autograd.hpp"
#include "tensor/tensor.hpp"
