#pragma once
/// The tensor layer: raw n-d arrays, their kernels, memory, threads and random numbers.
#include "tensor/allocator.hpp"
#include "tensor/dtype.hpp"
#include "tensor/error.hpp"
#include "tensor/kernels.hpp"
#include "tensor/ndarray.hpp"
#include "tensor/npz.hpp"
#include "tensor/parallel.hpp"
#include "tensor/random.hpp"
#include "tensor/small_vector.hpp"
#include "tensor/storage.hpp"
