#pragma once
/// The training toolkit: progress bars, scalar logs, plots through gnuplot, early stopping, a
/// gradient-flow monitor.
/// (Metrics are in metrics/, samplers in data/, checkpoints in io/.)
#include <xgrad/training/early_stopping.hpp>
#include <xgrad/training/gradient_flow.hpp>
#include <xgrad/training/logger.hpp>
#include <xgrad/training/plot.hpp>
#include <xgrad/training/progress.hpp>
