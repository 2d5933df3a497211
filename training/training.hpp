#pragma once
/// The training toolkit: progress bars, scalar logs, plots through gnuplot, early stopping, a
/// gradient-flow monitor.
/// (Metrics are in metrics/, samplers in data/, checkpoints in io/.)
#include "training/early_stopping.hpp"
#include "training/gradient_flow.hpp"
#include "training/logger.hpp"
#include "training/plot.hpp"
#include "training/progress.hpp"
