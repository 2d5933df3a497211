#pragma once
// What a trained Hallmarks of Cancer model predicted, and how it is scored: the four rules of
// prediction (one pass or the Monte Carlo mean, at 1/2 or at thresholds tuned on dev), what each
// seed keeps for each rule (its best dev epoch's dev and test probabilities), deep ensembles as
// the mean of such networks, and the .npz files (--save-predictions) that let hoc_ensemble
// combine the models of several programs.
#include <xgrad/xgrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hoc {

using xgrad::Tensor;

inline double micro_f1(const Tensor& probabilities, const Tensor& targets, double threshold = 0.5) {
    return xgrad::metrics::multilabel_report(probabilities, targets, threshold).micro_f1;
}

/// Per hallmark, the threshold in 0.05, 0.10, ..., 0.95 with the best F1 on dev (ties: the one
/// nearest 1/2). Tuned on the 170 dev abstracts, these can overfit; both are reported.
inline std::vector<double> tune_thresholds(const Tensor& dev_probabilities, const Tensor& dev_targets) {
    std::vector<double> thresholds;
    for (int64_t label = 0; label < 10; ++label) {
        const Tensor p = dev_probabilities.select(1, label), y = dev_targets.select(1, label);
        double best = 0.5, best_f1 = -1;
        for (int step = 1; step <= 19; ++step) {
            const double t = 0.05 * step;
            const double f1 = xgrad::metrics::binary_scores(p > t, y).f1;
            if (f1 > best_f1 + 1e-12 || (std::abs(f1 - best_f1) <= 1e-12 && std::abs(t - 0.5) < std::abs(best - 0.5))) {
                best = t;
                best_f1 = f1;
            }
        }
        thresholds.push_back(best);
    }
    return thresholds;
}

/// Probabilities [N, 10] turned into 0/1 decisions by a threshold per column.
inline Tensor decide(const Tensor& probabilities, const std::vector<double>& thresholds) {
    std::vector<double> t(thresholds);
    return (probabilities > xgrad::from_vector(t, {1, 10}, xgrad::kFloat32)).to(xgrad::kFloat32);
}

/// The two halves of `n` dev abstracts that every 2-fold choice on dev uses: the even rows and
/// the odd ones.
inline std::pair<Tensor, Tensor> halves_of(int64_t n) {
    return {xgrad::arange(0, n, 2, xgrad::kInt64), xgrad::arange(1, n, 2, xgrad::kInt64)};
}

/// Dev micro-F1 of per-hallmark thresholds on abstracts they were not tuned on: 2-fold
/// cross-validation within dev (tuned on the even abstracts, applied to the odd ones, and the
/// other way round). Thresholds tuned on all of dev nearly always beat 1/2 there; this says
/// whether they would on new abstracts.
inline double cross_validated_tuned_f1(const Tensor& dev_probabilities, const Tensor& dev_targets) {
    using xgrad::index_select;
    const auto [even, odd] = halves_of(dev_probabilities.size(0));
    const auto half = [&](const Tensor& rows) {
        return std::pair{index_select(dev_probabilities, 0, rows), index_select(dev_targets, 0, rows)};
    };
    const auto [p_even, y_even] = half(even);
    const auto [p_odd, y_odd] = half(odd);
    const Tensor decisions =
        xgrad::cat({decide(p_even, tune_thresholds(p_odd, y_odd)), decide(p_odd, tune_thresholds(p_even, y_even))}, 0);
    return micro_f1(decisions, xgrad::cat({y_even, y_odd}, 0));
}

/// The ways a trained model can label an abstract, each chosen on dev like everything else: one
/// deterministic pass (dropout off, the weights standing for the average network: Srivastava et
/// al.) or the mean of Monte Carlo dropout passes (an average over sampled networks: Gal &
/// Ghahramani), thresholded at 1/2 or at per-hallmark thresholds tuned on dev.
enum Rule { kOnePass, kOnePassTuned, kMonteCarlo, kMonteCarloTuned, kRules };
inline bool is_monte_carlo(int rule) {
    return rule == kMonteCarlo || rule == kMonteCarloTuned;
}
inline bool is_tuned(int rule) {
    return rule == kOnePassTuned || rule == kMonteCarloTuned;
}
inline const char* rule_name(int rule) {
    static const char* names[] = {"one pass at 1/2", "one pass at dev-tuned thresholds", "Monte Carlo mean at 1/2",
                                  "Monte Carlo mean at dev-tuned thresholds"};
    return names[rule];
}
inline const char* rule_tag(int rule) {  // for the per-epoch log
    static const char* tags[] = {"1/2", "tuned", "MC 1/2", "MC tuned"};
    return tags[rule];
}

/// A rule's dev score: micro-F1 at 1/2, or for tuned thresholds on dev abstracts they were not
/// tuned on (thresholds fitted to all of dev always win there).
inline double dev_score(int rule, const Tensor& dev_probabilities, const Tensor& dev_targets) {
    return is_tuned(rule) ? cross_validated_tuned_f1(dev_probabilities, dev_targets)
                          : micro_f1(dev_probabilities, dev_targets);
}

/// What one seed keeps for a rule: the epoch with the rule's best dev score, its dev probabilities
/// (those that scored) and its test probabilities [N, 10]; and for the rule's cross-fitted score,
/// the dev probabilities at the epoch the rule would have kept by each half of dev alone.
struct Kept {
    int epoch = 0;
    double dev_f1 = -1;
    Tensor dev, test;
    int epoch_chosen_on_half[2] = {0, 0};  ///< the best epoch by the even / odd half of dev alone
    Tensor dev_chosen_on_half[2];          ///< all of dev [170, 10] at those epochs
    double cross_fitted_f1 = -1;           ///< cross_fitted_f1() of those
};

/// A rule's dev score with the epoch and thresholds not chosen on the abstracts they label. The best epoch's dev
/// score (dev_f1) is the maximum over the epochs of a noisy score on 170 abstracts, and so above
/// what that epoch will score on new abstracts; by more for one network than for the mean of
/// several, whose noise partly cancels, which would tilt any comparison of models on dev towards
/// single networks. Here the even half of dev is labelled by the epoch (and any thresholds) chosen
/// on the odd half, and the other way round, and the micro-F1 is that of these decisions: the
/// 2-fold cross-validation of the whole choice, like cross_validated_tuned_f1's of the thresholds
/// alone. For a deep ensemble, each half's probabilities are the mean of its networks' at the
/// epochs each chose on that half, as ensemble_of makes them. Two choices still see all of dev,
/// both small: when training stopped (on the one-pass score over all of dev, which bounds the
/// epochs a half can choose from), and the rule (the best of four such scores).
inline double cross_fitted_f1(int rule, const Tensor (&dev_chosen_on_half)[2], const Tensor& dev_targets) {
    using xgrad::index_select;
    const auto [even, odd] = halves_of(dev_targets.size(0));
    const Tensor rows[2] = {even, odd};
    Tensor decisions[2], targets[2];
    for (int half = 0; half < 2; ++half) {
        const int other = 1 - half;  // the half that chose what labels this one
        const Tensor& chosen = dev_chosen_on_half[other];
        const Tensor p = index_select(chosen, 0, rows[half]);
        targets[half] = index_select(dev_targets, 0, rows[half]);
        decisions[half] = is_tuned(rule) ? decide(p, tune_thresholds(index_select(chosen, 0, rows[other]),
                                                                     index_select(dev_targets, 0, rows[other])))
                                         : p;
    }
    return micro_f1(xgrad::cat({decisions[0], decisions[1]}, 0), xgrad::cat({targets[0], targets[1]}, 0));
}

/// One trained seed: each rule's best dev epoch and its predictions. Or a deep ensemble of such
/// networks (`members`), whose predictions are the mean of theirs.
struct SeedRun {
    Kept kept[kRules];
    Tensor one_pass_test;  ///< one pass on test at the kMonteCarlo epoch: the abstention comparison's
    uint64_t seed = 0;
    int epochs = 0;  ///< trained (a network's; an ensemble's are its members')
    double seconds = 0, seconds_per_epoch = 0;
    std::vector<SeedRun> members;  ///< an ensemble's networks (empty for one network)

    /// The networks that make up this model: itself, or an ensemble's members.
    std::vector<const SeedRun*> networks() const {
        if (members.empty()) return {this};
        std::vector<const SeedRun*> out;
        for (const SeedRun& member : members) out.push_back(&member);
        return out;
    }
    /// "seed 2", "ensemble 2 of seeds 4-6", or for networks of several programs (hoc_ensemble)
    /// "ensemble 2 of seeds 2/2".
    std::string label(std::size_t index) const {
        if (members.empty()) return "seed " + std::to_string(seed);
        bool consecutive = true;
        for (std::size_t i = 0; i < members.size(); ++i)
            consecutive = consecutive && members[i].seed == members.front().seed + i;
        return "ensemble " + std::to_string(index + 1) + " of seeds " +
               (consecutive ? std::to_string(members.front().seed) + "-" + std::to_string(members.back().seed)
                            : per_network([](const SeedRun& n) { return n.seed; }));
    }
    /// The epochs trained, by each network ("30/28/31").
    std::string epochs_run() const {
        return per_network([](const SeedRun& n) { return n.epochs; });
    }
    /// The epoch a rule kept, or each network's ("12/17/23").
    std::string epochs_kept(int rule) const {
        return per_network([rule](const SeedRun& n) { return n.kept[rule].epoch; });
    }
    /// The epoch the even (0) or odd (1) half of dev chose for a rule, or each network's.
    std::string epochs_chosen_on_half(int rule, int half) const {
        return per_network([rule, half](const SeedRun& n) { return n.kept[rule].epoch_chosen_on_half[half]; });
    }

private:
    /// A number of each network, joined by "/".
    template <class Number>
    std::string per_network(Number number) const {
        std::string out;
        for (const SeedRun* network : networks()) out += (out.empty() ? "" : "/") + std::to_string(number(*network));
        return out;
    }
};

/// A deep ensemble (Lakshminarayanan et al. 2017): for each rule, the mean of the networks'
/// probabilities at the epochs each network kept for that rule, scored on dev again as one model.
inline SeedRun ensemble_of(std::vector<SeedRun> networks, const Tensor& dev_targets) {
    SeedRun ensemble;
    const double share = 1.0 / static_cast<double>(networks.size());
    const auto add = [share](Tensor& sum, const Tensor& part) {
        sum = sum.defined() ? sum + part * share : part * share;
    };
    for (const SeedRun& network : networks) {
        for (int rule = 0; rule < kRules; ++rule) {
            Kept& kept = ensemble.kept[rule];
            add(kept.dev, network.kept[rule].dev);
            add(kept.test, network.kept[rule].test);
            for (int half = 0; half < 2; ++half)
                add(kept.dev_chosen_on_half[half], network.kept[rule].dev_chosen_on_half[half]);
        }
        add(ensemble.one_pass_test, network.one_pass_test);
        ensemble.seconds += network.seconds;
        ensemble.seconds_per_epoch += network.seconds_per_epoch * share;
    }
    for (int rule = 0; rule < kRules; ++rule) {
        Kept& kept = ensemble.kept[rule];
        kept.dev_f1 = dev_score(rule, kept.dev, dev_targets);
        kept.cross_fitted_f1 = cross_fitted_f1(rule, kept.dev_chosen_on_half, dev_targets);
    }
    ensemble.members = std::move(networks);
    return ensemble;
}

/// A model of `networks`: the network itself when there is one, else their deep ensemble.
inline SeedRun model_of(std::vector<SeedRun> networks, const Tensor& dev_targets) {
    return networks.size() == 1 ? std::move(networks.front()) : ensemble_of(std::move(networks), dev_targets);
}

/// What a file of save_models holds besides its models: how they were run, which a combination
/// of files must agree on.
struct SavedSettings {
    int mc_samples = 0;        ///< Monte Carlo dropout passes of the Monte Carlo rules
    bool quick = false;        ///< --quick: trained on 400 abstracts, held to the quick run's claim
    bool mc_selection = true;  ///< the Monte Carlo rules kept their own best dev epochs
};

/// The prefix of network j of model i in a file of save_models, and of a rule's entries in it.
inline std::string network_key(std::size_t model, std::size_t network) {
    return "model" + std::to_string(model) + ".network" + std::to_string(network) + ".";
}
inline std::string rule_key(const std::string& network_prefix, int rule) {
    return network_prefix + "rule" + std::to_string(rule) + ".";
}
inline std::string half_key(int half) {
    return half == 0 ? "dev_chosen_on_even" : "dev_chosen_on_odd";
}

/// --save-predictions: every model's networks in an .npz archive (tensor/npz.hpp): for each
/// network its seed, epochs and seconds, and for each rule the epoch it kept, its dev score, its
/// cross-fitted dev score and the epochs each half of dev chose, its dev and test probabilities and
/// the dev probabilities at the halves' epochs; with the dev and test targets they were scored against, so that
/// load_models can refuse a file of other splits, and the settings a combination must share.
/// hoc_ensemble reads such files.
inline void save_models(const std::string& path, const std::vector<SeedRun>& models, const Tensor& dev_targets,
                        const Tensor& test_targets, const SavedSettings& settings) {
    std::map<std::string, xgrad::NDArray> arrays;
    const auto put = [&](const std::string& key, const Tensor& t) { arrays.emplace(key, t.data()); };
    const auto numbers = [](const std::vector<double>& values) {
        return xgrad::from_vector(values, {static_cast<int64_t>(values.size())}, xgrad::kFloat64);
    };
    put("dev_targets", dev_targets);
    put("test_targets", test_targets);
    put("settings", numbers({static_cast<double>(settings.mc_samples), settings.quick ? 1.0 : 0.0,
                             settings.mc_selection ? 1.0 : 0.0}));
    for (std::size_t i = 0; i < models.size(); ++i) {
        const std::vector<const SeedRun*> networks = models[i].networks();
        for (std::size_t j = 0; j < networks.size(); ++j) {
            const SeedRun& network = *networks[j];
            const std::string prefix = network_key(i, j);
            put(prefix + "run", numbers({static_cast<double>(network.seed), static_cast<double>(network.epochs),
                                         network.seconds, network.seconds_per_epoch}));
            put(prefix + "one_pass_test", network.one_pass_test);
            for (int rule = 0; rule < kRules; ++rule) {
                const Kept& kept = network.kept[rule];
                const std::string key = rule_key(prefix, rule);
                put(key + "kept", numbers({static_cast<double>(kept.epoch), kept.dev_f1, kept.cross_fitted_f1,
                                           static_cast<double>(kept.epoch_chosen_on_half[0]),
                                           static_cast<double>(kept.epoch_chosen_on_half[1])}));
                put(key + "dev", kept.dev);
                put(key + "test", kept.test);
                for (int half = 0; half < 2; ++half) put(key + half_key(half), kept.dev_chosen_on_half[half]);
            }
        }
    }
    xgrad::save_npz(path, arrays);
}

/// A file of save_models, read back: each model's networks (one, or a deep ensemble's), left for
/// the caller to combine (model_of for the file's own models; hoc_ensemble pools every file's).
struct SavedModels {
    std::vector<std::vector<SeedRun>> models;
    SavedSettings settings;
};

/// Reads a file of save_models. A file comes from outside, so every entry is checked before it is
/// used: present, of the expected shape, the targets those of these dev and test splits, the
/// numbers whole and in range, the probabilities in [0, 1], each rule's dev scores the ones its dev
/// probabilities give, and no entry left over. Errors name the file and the entry.
inline SavedModels load_models(const std::string& path, const Tensor& dev_targets, const Tensor& test_targets) {
    using xgrad::fail;
    const std::map<std::string, xgrad::NDArray> arrays = xgrad::load_npz(path);
    const auto get = [&](const std::string& key, const xgrad::Shape& shape) {
        const auto at = arrays.find(key);
        if (at == arrays.end()) fail(path, ": no entry \"", key, "\" (not a file of --save-predictions?)");
        const Tensor t(at->second);
        if (t.sizes() != shape) fail(path, ": entry \"", key, "\" has shape ", t.sizes(), ", expected ", shape);
        if (!t.is_floating_point()) fail(path, ": entry \"", key, "\" is not floating-point");
        return t;
    };
    const auto numbers = [&](const std::string& key, int64_t count) { return get(key, {count}).to_vector<double>(); };
    // A whole number in [low, high] (NaN fails every comparison, so it is refused too).
    const auto whole = [&](const std::string& key, double value, double low, double high) {
        if (!(value >= low && value <= high && value == std::floor(value)))
            fail(path, ": entry \"", key, "\" holds ", value, ", expected a whole number in [", low, ", ", high, "]");
        return value;
    };
    const auto probabilities = [&](const std::string& key, const Tensor& targets) {
        const Tensor p = get(key, targets.sizes());
        if (!(p.min().item() >= 0 && p.max().item() <= 1))
            fail(path, ": entry \"", key, "\" holds values outside [0, 1] (or NaN): not probabilities");
        return p;
    };
    if (!xgrad::equal(get("dev_targets", dev_targets.sizes()), dev_targets) ||
        !xgrad::equal(get("test_targets", test_targets.sizes()), test_targets))
        fail(path, ": its dev and test targets are not those of this corpus's dev and test splits");
    SavedModels saved;
    const std::vector<double> settings = numbers("settings", 3);
    saved.settings = {.mc_samples = static_cast<int>(whole("settings", settings[0], 1, 1e6)),
                      .quick = whole("settings", settings[1], 0, 1) == 1,
                      .mc_selection = whole("settings", settings[2], 0, 1) == 1};
    std::size_t entries = 3;  // the targets and the settings
    for (std::size_t i = 0; arrays.count(network_key(i, 0) + "run"); ++i) {
        std::vector<SeedRun> networks;
        for (std::size_t j = 0; arrays.count(network_key(i, j) + "run"); ++j) {
            const std::string prefix = network_key(i, j);
            SeedRun network;
            const std::vector<double> run = numbers(prefix + "run", 4);
            network.seed = static_cast<uint64_t>(whole(prefix + "run", run[0], 1, 1e15));
            network.epochs = static_cast<int>(whole(prefix + "run", run[1], 1, 1e6));
            if (!(run[2] >= 0 && run[3] >= 0 && std::isfinite(run[2]) && std::isfinite(run[3])))
                fail(path, ": entry \"", prefix, "run\" holds seconds ", run[2], " and ", run[3],
                     ", expected finite numbers >= 0");
            network.seconds = run[2];
            network.seconds_per_epoch = run[3];
            network.one_pass_test = probabilities(prefix + "one_pass_test", test_targets);
            for (int rule = 0; rule < kRules; ++rule) {
                const std::string key = rule_key(prefix, rule);
                const auto old = arrays.find(key + "kept");
                if (old != arrays.end() && Tensor(old->second).numel() == 2)
                    fail(path, ": saved before the files had cross-fitted dev scores; run the program again");
                const std::vector<double> kept = numbers(key + "kept", 5);
                const auto epoch = [&](double value) {
                    return static_cast<int>(whole(key + "kept", value, 1, network.epochs));
                };
                Kept& k = network.kept[rule];
                k = {.epoch = epoch(kept[0]),
                     .dev_f1 = kept[1],
                     .dev = probabilities(key + "dev", dev_targets),
                     .test = probabilities(key + "test", test_targets),
                     .epoch_chosen_on_half = {epoch(kept[3]), epoch(kept[4])},
                     .dev_chosen_on_half = {probabilities(key + half_key(0), dev_targets),
                                            probabilities(key + half_key(1), dev_targets)},
                     .cross_fitted_f1 = kept[2]};
                // (Written so that a NaN fails too.)
                const auto check = [&](const char* what, double stored, double scored, const std::string& from) {
                    if (!(std::abs(scored - stored) <= 1e-9))
                        fail(path, ": entry \"", key, "kept\" gives a ", what, " of ", stored, ", its ", from, " ",
                             scored);
                };
                check("dev score", k.dev_f1, dev_score(rule, k.dev, dev_targets), "entry \"" + key + "dev\"");
                check("cross-fitted dev score", k.cross_fitted_f1,
                      cross_fitted_f1(rule, k.dev_chosen_on_half, dev_targets),
                      "entries \"" + key + half_key(0) + "\" and \"" + half_key(1) + "\"");
                entries += 5;
            }
            entries += 2;
            networks.push_back(std::move(network));
        }
        saved.models.push_back(std::move(networks));
    }
    if (saved.models.empty()) fail(path, ": no models (entry \"model0.network0.run\" missing)");
    if (entries != arrays.size())
        fail(path, ": ", arrays.size() - entries, " entries not read (models or networks numbered with a gap?)");
    return saved;
}

}  // namespace hoc
