#pragma once
/// Saving and loading: module state (parameters and buffers by dotted name), and checkpoints that
/// resume a training run exactly, in NumPy's .npz format (see tensor/npz.hpp), so weights can also
/// be read by numpy.load.
///
///     xgrad::save(model, "model.npz");
///     xgrad::load(model, "model.npz");              // names, shapes, dtypes checked first
///
///     std::map<std::string, double> counters{{"epoch", epoch}, {"step", step}};
///     xgrad::Checkpoint run{.model = &model, .optimizer = &opt, .schedulers = {&schedule},
///                           .generators = {{"loader", &loader_gen}}, .values = &counters};
///     xgrad::save_checkpoint("run.npz", run);
///     ...                                          // a new process, the same objects built again
///     xgrad::load_checkpoint("run.npz", run);     // and training goes on bit for bit
///
/// Loading validates everything before keeping anything: when any entry is missing, unexpected
/// or mismatched (or the file is corrupt), one error names the file and every problem, and every
/// object is left as it was. Saving replaces the file atomically (see save_npz).

#include <map>
#include <string>
#include <vector>

#include <xgrad/data/scaler.hpp>
#include <xgrad/nn/module.hpp>
#include <xgrad/optim/lr_scheduler.hpp>
#include <xgrad/optim/optimizer.hpp>
#include <xgrad/tensor/random.hpp>
#include <xgrad/training/early_stopping.hpp>

namespace xgrad {

/// Writes a module's state_dict() to path (atomically).
void save(const nn::Module& module, const std::string& path);
/// Loads a file written by save() into module; not strict: missing and unexpected entries are
/// skipped and returned instead of refused.
nn::Module::LoadResult load(nn::Module& module, const std::string& path, bool strict = true);

/// Tensors alone, as LibTorch's torch::save(tensor, path) and torch::save(tensors, path): one
/// .npz entry "0", or one per tensor "0", "1", ... in order (numpy.load reads them). Only the
/// values are kept (any layout, stored contiguous); a loaded tensor does not require grad.
void save(const Tensor& tensor, const std::string& path);
void save(const std::vector<Tensor>& tensors, const std::string& path);
/// Replaces tensor with the single array of a file written by save(tensor, path); a file with
/// none or several arrays is an error naming it.
void load(Tensor& tensor, const std::string& path);
/// Replaces tensors with the arrays of a file written by save(tensors, path), in order; entries
/// other than "0" .. "n-1" are an error naming the file and the entry.
void load(std::vector<Tensor>& tensors, const std::string& path);

/// The pieces of a training run to save together; null (or empty) members are skipped. Entries
/// are prefixed by their section: "model.", "optimizer.", "scheduler.<i>.", "plateau.",
/// "scaler.", "min_max_scaler.", "early_stopping.", "generator.<name>", "values.<key>".
struct Checkpoint {
    nn::Module* model = nullptr;
    optim::Optimizer* optimizer = nullptr;
    std::vector<optim::LRScheduler*> schedulers;  ///< in order: "scheduler.0.", "scheduler.1.", ...
    optim::ReduceLROnPlateau* plateau = nullptr;
    data::StandardScaler* scaler = nullptr;
    data::MinMaxScaler* min_max_scaler = nullptr;
    training::EarlyStopping* early_stopping = nullptr;
    std::map<std::string, Generator*> generators;  ///< explicit generators (a loader's, dropout's)
    bool default_generator = true;                 ///< the global one (manual_seed, init, dropout)
    /// Counters and any user numbers (epoch, step, best score); loading replaces the map's
    /// contents with the file's. Integers are exact up to 2^53.
    std::map<std::string, double>* values = nullptr;
};

struct LoadCheckpointOptions {
    /// Not strict: entries the checkpoint lacks leave their objects as they are, entries nothing
    /// asked for are ignored; both are reported in the result. Mismatched entries are errors.
    bool strict = true;
};

struct CheckpointLoadResult {
    std::vector<std::string> missing_keys, unexpected_keys;  ///< full names, with section prefixes
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
CheckpointLoadResult load_checkpoint(const std::string& path, const Checkpoint& checkpoint,
                                     LoadCheckpointOptions options = {});

}  // namespace xgrad
