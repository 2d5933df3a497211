#pragma once
/// The nn package: modules, layers, activations, initialization, dropout, normalization, losses,
/// penalties and the model summary.
#include "nn/activation.hpp"
#include "nn/container.hpp"
#include "nn/conv.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/functional.hpp"
#include "nn/fused_gru_cell.hpp"
#include "nn/fused_lstm_cell.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/module.hpp"
#include "nn/normalization.hpp"
#include "nn/regularization.hpp"
#include "nn/rnn.hpp"
#include "nn/summary.hpp"
