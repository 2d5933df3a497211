#pragma once
/// Saving and loading: module state (parameters and buffers by dotted name), optimizer state and
/// scaler state, in NumPy's .npz format (see tensor/npz.hpp), so training can stop and resume to
/// the same parameters and weights can be read by numpy.load.
///
///     xgrad::save(model, "model.npz");
///     xgrad::load(model, "model.npz");              // names, shapes, dtypes checked first
///     xgrad::save_checkpoint("ckpt.npz", {.model = &model, .optimizer = &opt, .scaler = &scaler});
///
/// Loading validates everything before changing anything: a missing, extra or mismatched entry
/// (or a corrupt file) throws an error naming the file and the entry and leaves the objects as
/// they were.

#include <string>

#include "data/scaler.hpp"
#include "nn/module.hpp"
#include "optim/optimizer.hpp"

namespace xgrad {

/// Writes a module's state_dict() to path (atomically).
void save(const nn::Module& module, const std::string& path);
/// Loads a file written by save() into module.
void load(nn::Module& module, const std::string& path);

/// The pieces of a training run to save together; null members are skipped. Entries are
/// prefixed "model.", "optimizer." and "scaler.".
struct Checkpoint {
    nn::Module* model = nullptr;
    optim::Optimizer* optimizer = nullptr;
    data::StandardScaler* scaler = nullptr;
};
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
void load_checkpoint(const std::string& path, const Checkpoint& checkpoint);

}  // namespace xgrad
