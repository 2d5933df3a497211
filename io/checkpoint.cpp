#include <xgrad/io/checkpoint.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/npz.hpp>

namespace xgrad {
namespace {
using Entries = std::map<std::string, NDArray>;
using Numbers = std::map<std::string, double>;

void add_tensors(Entries& all, const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
    for (const auto& [name, t] : tensors) all[prefix + name] = t.data();
}

void add_numbers(Entries& all, const Numbers& numbers, const std::string& prefix) {
    for (const auto& [name, value] : numbers) all[prefix + name] = scalar_tensor(value, kFloat64).data();
}

// A generator's state as 7 int64 values (the bits of its uint64 words).
NDArray generator_entry(const Generator& gen) {
    const Generator::State state = gen.get_state();
    std::vector<int64_t> words(state.size());
    std::memcpy(words.data(), state.data(), sizeof state);
    return from_vector(words, {static_cast<int64_t>(words.size())}).data();
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

// One load: what each section takes from the file, what it undoes on failure, and every problem.
class Loader {
public:
    Loader(const Entries& entries, bool strict) : entries_(entries), strict_(strict) {}

    // The entries under prefix (prefix removed), now claimed; empty when the file has none.
    std::map<std::string, Tensor> section(const std::string& prefix) {
        std::map<std::string, Tensor> out;
        for (auto it = entries_.lower_bound(prefix);
             it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
            out[it->first.substr(prefix.size())] = Tensor(it->second);
            claimed_.insert(it->first);
        }
        return out;
    }

    // The entry named key exactly, now claimed; undefined when the file lacks it.
    Tensor take(const std::string& key) {
        auto it = entries_.find(key);
        if (it == entries_.end()) return Tensor();
        claimed_.insert(key);
        return Tensor(it->second);
    }

    Numbers numbers(const std::string& prefix) {
        Numbers out;
        for (const auto& [name, t] : section(prefix)) {
            if (t.numel() != 1) {
                problems_.push_back(
                    detail::concat("\"", prefix, name, "\" should hold one number but has shape ", t.sizes()));
                continue;
            }
            out[name] = t.item();
        }
        return out;
    }

    // A section the checkpoint asks for but the file lacks: an error when strict, else reported.
    // True when found.
    bool present(const std::string& prefix, bool found) {
        if (found) return true;
        if (strict_)
            problems_.push_back("no \"" + prefix + "*\" entries");
        else
            missing_.push_back(prefix + "*");
        return false;
    }

    // Runs a load step; undo restores its object should anything (here or elsewhere) fail. The
    // undo is registered first: a step that changes its object and then throws is undone too.
    // Anything other than xgrad::Error (out of memory) undoes every step and goes on up.
    void attempt(const std::function<void()>& load_step, std::function<void()> undo) {
        undos_.push_back(std::move(undo));
        try {
            load_step();
        } catch (const Error& e) {
            problems_.push_back(e.what());
        } catch (...) {
            undo_all();
            throw;
        }
    }

    void undo_all() {
        for (auto it = undos_.rbegin(); it != undos_.rend(); ++it) (*it)();
        undos_.clear();
    }

    void note_missing(const std::string& prefix, const std::vector<std::string>& keys) {
        for (const auto& k : keys) missing_.push_back(prefix + k);
    }
    // Entries a section claimed but its object did not take (a non-strict model load).
    void note_unexpected(const std::string& prefix, const std::vector<std::string>& keys) {
        for (const auto& k : keys) claimed_.erase(prefix + k);
    }
    void problem(std::string what) { problems_.push_back(std::move(what)); }

    // Throws (after undoing every step) if anything went wrong; else what was skipped. Entries of
    // sections this load did not ask for (a predictor loading the model of a training checkpoint
    // skips its optimizer) are reported, not refused; entries of no section at all are refused
    // when strict.
    CheckpointLoadResult finish(const std::string& path) {
        static const char* const sections[] = {"model.",          "optimizer.", "scheduler.",
                                               "plateau.",        "scaler.",    "min_max_scaler.",
                                               "early_stopping.", "generator.", "values."};
        std::vector<std::string> unexpected, foreign;
        for (const auto& [name, value] : entries_) {
            if (claimed_.count(name)) continue;
            unexpected.push_back(name);
            const bool known = std::any_of(std::begin(sections), std::end(sections),
                                           [&](const char* prefix) { return name.rfind(prefix, 0) == 0; });
            if (!known) foreign.push_back(name);
        }
        if (strict_ && !foreign.empty())
            problems_.push_back("unexpected entries (of no checkpoint section): " + join(foreign, ", "));
        if (!problems_.empty()) {
            undo_all();
            fail(path, ": cannot load the checkpoint (nothing was changed): ", join(problems_, "; "));
        }
        return {missing_, unexpected};
    }

private:
    const Entries& entries_;
    bool strict_;
    std::set<std::string> claimed_;
    std::vector<std::string> problems_, missing_;
    std::vector<std::function<void()>> undos_;
};

void load_generator(Loader& loader, const std::string& key, Generator& gen) {
    const Tensor words = loader.take(key);
    if (!words.defined()) {
        loader.present(key, false);
        return;
    }
    if (words.dtype() != kInt64 || words.sizes() != Shape{7}) {
        loader.problem(detail::concat("\"", key, "\" should be int64 [7], got ", words.dtype(), " ", words.sizes()));
        return;
    }
    Generator::State state{};
    const std::vector<int64_t> values = words.to_vector<int64_t>();
    std::memcpy(state.data(), values.data(), sizeof state);
    const Generator::State before = gen.get_state();
    loader.attempt([&] { gen.set_state(state); }, [&gen, before] { gen.set_state(before); });
}
// A section loaded through object.load_state_dict, undone with the state it had before
// (optimizers and schedulers: their state_dict() is a complete snapshot).
template <class Object, class State>
void load_restoring_state(Loader& loader, const std::string& prefix, Object& object, const State& state) {
    if (!loader.present(prefix, !state.empty())) return;
    const auto before = object.state_dict();
    loader.attempt([&] { object.load_state_dict(state); }, [&object, before] { object.load_state_dict(before); });
}

// The same for copyable objects, undone with a copy (an unfitted scaler has no state_dict()).
template <class Object, class State>
void load_restoring_copy(Loader& loader, const std::string& prefix, Object& object, const State& state) {
    if (!loader.present(prefix, !state.empty())) return;
    const Object before = object;
    loader.attempt([&] { object.load_state_dict(state); }, [&object, before] { object = before; });
}
}  // namespace

void save(const nn::Module& module, const std::string& path) {
    Entries all;
    add_tensors(all, module.state_dict(), "");
    save_npz(path, all);
}

nn::Module::LoadResult load(nn::Module& module, const std::string& path, bool strict) {
    const Entries entries = load_npz(path);
    std::map<std::string, Tensor> state;
    for (const auto& [name, a] : entries) state[name] = Tensor(a);
    try {
        return module.load_state_dict(state, strict);
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}

void save(const Tensor& tensor, const std::string& path) {
    save(std::vector<Tensor>{tensor}, path);
}

void save(const std::vector<Tensor>& tensors, const std::string& path) {
    Entries all;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        XGRAD_CHECK(tensors[i].defined(), "save: ", path, ": tensor ", i, " is undefined");
        all[std::to_string(i)] = tensors[i].data();
    }
    save_npz(path, all);
}

void load(std::vector<Tensor>& tensors, const std::string& path) {
    const Entries entries = load_npz(path);
    std::vector<Tensor> loaded(entries.size());
    for (const auto& [name, a] : entries) {
        // Names written by save(tensors): decimal positions below the count, without leading zeros
        // (the map holds each name once, so each position comes once). 18 digits cannot overflow.
        const bool decimal = !name.empty() && name.size() <= 18 &&
                             name.find_first_not_of("0123456789") == std::string::npos &&
                             (name == "0" || name[0] != '0');
        const long long position = decimal ? std::stoll(name) : -1;
        XGRAD_CHECK(decimal && static_cast<std::size_t>(position) < entries.size(), "load: ", path, ": the entry \"",
                    name, "\" is not a position 0..", entries.size() - 1, " (not a file written by save(tensors))");
        loaded[static_cast<std::size_t>(position)] = Tensor(a);
    }
    tensors = std::move(loaded);
}

void load(Tensor& tensor, const std::string& path) {
    std::vector<Tensor> tensors;
    load(tensors, path);
    XGRAD_CHECK(
        tensors.size() == 1, "load: ", path, " holds ", tensors.size(),
        " arrays; load(tensor) reads a file written by save(tensor) (load into a std::vector<Tensor> for several)");
    tensor = std::move(tensors[0]);
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
    Entries all;
    if (c.model) add_tensors(all, c.model->state_dict(), "model.");
    if (c.optimizer) add_tensors(all, c.optimizer->state_dict(), "optimizer.");
    for (std::size_t i = 0; i < c.schedulers.size(); ++i) {
        XGRAD_CHECK(c.schedulers[i] != nullptr, "save_checkpoint: ", path, ": scheduler ", i, " is null");
        add_numbers(all, c.schedulers[i]->state_dict(), "scheduler." + std::to_string(i) + ".");
    }
    if (c.plateau) add_numbers(all, c.plateau->state_dict(), "plateau.");
    if (c.scaler) add_tensors(all, c.scaler->state_dict(), "scaler.");
    if (c.min_max_scaler) add_tensors(all, c.min_max_scaler->state_dict(), "min_max_scaler.");
    if (c.early_stopping) add_numbers(all, c.early_stopping->state_dict(), "early_stopping.");
    for (const auto& [name, gen] : c.generators) {
        XGRAD_CHECK(gen != nullptr, "save_checkpoint: ", path, ": generator \"", name, "\" is null");
        XGRAD_CHECK(!(c.default_generator && name == "default"), "save_checkpoint: ", path,
                    ": the name \"default\" is the default generator's");
        all["generator." + name] = generator_entry(*gen);
    }
    if (c.default_generator) all["generator.default"] = generator_entry(default_generator());
    if (c.values) add_numbers(all, *c.values, "values.");
    save_npz(path, all);
}

CheckpointLoadResult load_checkpoint(const std::string& path, const Checkpoint& c, LoadCheckpointOptions options) {
    const Entries entries = load_npz(path);
    Loader loader(entries, options.strict);

    if (c.model) {
        const auto state = loader.section("model.");
        nn::StateDict before = c.model->state_dict();
        nn::Module& model = *c.model;
        loader.attempt(
            [&] {
                const auto result = model.load_state_dict(state, options.strict);
                loader.note_missing("model.", result.missing_keys);
                loader.note_unexpected("model.", result.unexpected_keys);
            },
            [&model, before] { model.load_state_dict(before); });
    }
    if (c.optimizer) load_restoring_state(loader, "optimizer.", *c.optimizer, loader.section("optimizer."));
    for (std::size_t i = 0; i < c.schedulers.size(); ++i) {
        XGRAD_CHECK(c.schedulers[i] != nullptr, "load_checkpoint: ", path, ": scheduler ", i, " is null");
        const std::string prefix = "scheduler." + std::to_string(i) + ".";
        load_restoring_state(loader, prefix, *c.schedulers[i], loader.numbers(prefix));
    }
    if (c.plateau) load_restoring_state(loader, "plateau.", *c.plateau, loader.numbers("plateau."));
    if (c.scaler) load_restoring_copy(loader, "scaler.", *c.scaler, loader.section("scaler."));
    if (c.min_max_scaler)
        load_restoring_copy(loader, "min_max_scaler.", *c.min_max_scaler, loader.section("min_max_scaler."));
    if (c.early_stopping)
        load_restoring_copy(loader, "early_stopping.", *c.early_stopping, loader.numbers("early_stopping."));
    for (const auto& [name, gen] : c.generators) {
        XGRAD_CHECK(gen != nullptr, "load_checkpoint: ", path, ": generator \"", name, "\" is null");
        load_generator(loader, "generator." + name, *gen);
    }
    if (c.default_generator) load_generator(loader, "generator.default", default_generator());
    if (c.values) {
        // An empty map saves no entries, so none is not missing when strict.
        const Numbers values = loader.numbers("values.");
        if (options.strict || loader.present("values.", !values.empty())) {
            std::map<std::string, double>& target = *c.values;
            const Numbers before = target;
            loader.attempt([&] { target = values; }, [&target, before] { target = before; });
        }
    }
    return loader.finish(path);
}

}  // namespace xgrad
