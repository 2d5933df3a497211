#pragma once
/// The nn package: modules, layers, activations, initialization, dropout, normalization, losses,
/// penalties and the model summary.
#include <xgrad/nn/activation.hpp>
#include <xgrad/nn/attention.hpp>
#include <xgrad/nn/container.hpp>
#include <xgrad/nn/conv.hpp>
#include <xgrad/nn/conv_transpose.hpp>
#include <xgrad/nn/dropout.hpp>
#include <xgrad/nn/embedding.hpp>
#include <xgrad/nn/embedding_bag.hpp>
#include <xgrad/nn/functional.hpp>
#include <xgrad/nn/fused_gru_cell.hpp>
#include <xgrad/nn/fused_lstm_cell.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/nn/linear.hpp>
#include <xgrad/nn/loss.hpp>
#include <xgrad/nn/module.hpp>
#include <xgrad/nn/normalization.hpp>
#include <xgrad/nn/pooling.hpp>
#include <xgrad/nn/regularization.hpp>
#include <xgrad/nn/rnn.hpp>
#include <xgrad/nn/summary.hpp>
#include <xgrad/nn/transformer.hpp>
#include <xgrad/nn/upsample.hpp>
