#pragma once
/// The optim package: the lecture's optimizers, learning-rate schedules, gradient clipping and
/// weight averaging.
#include <xgrad/optim/adadelta.hpp>
#include <xgrad/optim/adagrad.hpp>
#include <xgrad/optim/adam.hpp>
#include <xgrad/optim/adamax.hpp>
#include <xgrad/optim/averaging.hpp>
#include <xgrad/optim/clip_grad.hpp>
#include <xgrad/optim/lr_scheduler.hpp>
#include <xgrad/optim/nadam.hpp>
#include <xgrad/optim/optimizer.hpp>
#include <xgrad/optim/rmsprop.hpp>
#include <xgrad/optim/sgd.hpp>
