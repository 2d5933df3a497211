#pragma once
/// The data package: preprocessing, datasets, samplers and loaders, readers, the text pipeline,
/// pretrained word vectors.
#include <xgrad/data/dataset.hpp>
#include <xgrad/data/readers.hpp>
#include <xgrad/data/sampler.hpp>
#include <xgrad/data/scaler.hpp>
#include <xgrad/data/text.hpp>
#include <xgrad/data/word_vectors.hpp>
