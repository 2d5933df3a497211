#include "io/checkpoint.hpp"

#include "tensor/npz.hpp"

namespace xgrad {
namespace {
std::map<std::string, NDArray> raw(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
    std::map<std::string, NDArray> out;
    for (const auto& [name, t] : tensors) out[prefix + name] = t.data();
    return out;
}

// The entries under prefix, with the prefix removed.
std::map<std::string, Tensor> section(const std::map<std::string, NDArray>& all, const std::string& prefix) {
    std::map<std::string, Tensor> out;
    for (const auto& [name, a] : all)
        if (name.compare(0, prefix.size(), prefix) == 0) out[name.substr(prefix.size())] = Tensor(a);
    return out;
}

// Runs a load step, adding the file's name to any error it reports.
template <class F>
void naming_file(const std::string& path, F&& load_step) {
    try {
        load_step();
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}
}  // namespace

void save(const nn::Module& module, const std::string& path) { save_npz(path, raw(module.state_dict(), "")); }

void load(nn::Module& module, const std::string& path) {
    const auto entries = load_npz(path);
    naming_file(path, [&] { module.load_state_dict(section(entries, "")); });
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
    std::map<std::string, NDArray> all;
    if (c.model) all.merge(raw(c.model->state_dict(), "model."));
    if (c.optimizer) all.merge(raw(c.optimizer->state_dict(), "optimizer."));
    if (c.scaler) all.merge(raw(c.scaler->state_dict(), "scaler."));
    save_npz(path, all);
}

void load_checkpoint(const std::string& path, const Checkpoint& c) {
    const auto entries = load_npz(path);
    // Each load_state_dict validates before writing; the model (the usual mismatch) goes first.
    naming_file(path, [&] {
        if (c.model) c.model->load_state_dict(section(entries, "model."));
        if (c.optimizer) c.optimizer->load_state_dict(section(entries, "optimizer."));
        if (c.scaler) c.scaler->load_state_dict(section(entries, "scaler."));
    });
}

}  // namespace xgrad
