#pragma once
/// The data package: preprocessing, datasets, samplers and loaders, readers, the text pipeline,
/// pretrained word vectors.
#include "data/dataset.hpp"
#include "data/readers.hpp"
#include "data/sampler.hpp"
#include "data/scaler.hpp"
#include "data/text.hpp"
#include "data/word_vectors.hpp"
