#pragma once
/// The tensor layer: raw n-d arrays, their kernels, memory, threads and random numbers.
#include <xgrad/tensor/allocator.hpp>
#include <xgrad/tensor/dtype.hpp>
#include <xgrad/tensor/error.hpp>
#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/ndarray.hpp>
#include <xgrad/tensor/npz.hpp>
#include <xgrad/tensor/parallel.hpp>
#include <xgrad/tensor/random.hpp>
#include <xgrad/tensor/small_vector.hpp>
#include <xgrad/tensor/storage.hpp>
