// Tutorial: an ensemble of different models on Hallmarks of Cancer, at no extra training cost.
//
// The model programs (hoc_kim_cnn, hoc_recurrent, hoc_transformer) run with
// --save-predictions FILE write, for each of their models (one per seed), the dev and test
// probabilities of every rule of prediction at the epoch that rule kept. This program averages
// the i-th model of every file into one (the Kim CNN of seed 1 with the BiGRU of seed 1, and so
// on): networks of different architectures make different mistakes (a CNN sees word n-grams, a
// recurrent network whole sentences), so their mean corrects more of them than a mean of networks
// of one kind, whose errors are alike. The combination is then evaluated like any model: the four
// rules scored on dev again on the mean probabilities (cross-fitted: each half of dev labelled by
// the mean of the networks at the epochs each chose on the other half, the files keeping those
// too), the rule with the best mean dev score chosen, test read once with it, and the networks
// alone reported with the same rule.
//
//   hoc_kim_cnn --embeddings V --save-predictions cnn.npz
//   hoc_recurrent --embeddings V --subwords S --save-predictions bigru.npz
//   hoc_ensemble --models cnn.npz bigru.npz --name "Kim CNN + BiGRU"
//
// examples/hoc_comparison.sh does this for the main models it has trained.
#include <stdexcept>
#include <string>
#include <vector>

#include "hoc_training.hpp"

int main(int argc, char** argv) try {
    std::vector<std::string> files;
    std::string name;
    hoc::Settings s;
    tutorial::Cli cli(
        "Tutorial: the models of several HoC programs (their --save-predictions files) averaged into one, "
        "evaluated as one model, the rule chosen on dev.");
    cli.option("--models", files, "files written by the model programs' --save-predictions, one per program");
    cli.option("--name", name, "the combination's name in the report (default: ensemble of <n> programs)");
    cli.option("--out", s.out, "folder for the abstention plot");
    cli.parse(argc, argv);  // (--quick changes nothing here: the files say how their models ran)
    if (files.size() < 2)
        throw std::invalid_argument("--models: expected the files of at least two programs, got " +
                                    std::to_string(files.size()));
    if (name.empty()) name = "ensemble of " + std::to_string(files.size()) + " programs";

    // The dev and test splits are those of every program (--abstracts limits training only), and
    // the files are checked against their targets.
    const hoc::Corpus corpus = hoc::load_corpus(s.max_tokens, -1);
    std::vector<hoc::SavedModels> saved;
    for (const std::string& file : files) {
        saved.push_back(hoc::load_models(file, corpus.dev.targets, corpus.test.targets));
        const hoc::SavedModels& first = saved.front();
        if (saved.back().models.size() != first.models.size())
            throw std::invalid_argument(file + " holds " + std::to_string(saved.back().models.size()) + " models, " +
                                        files.front() + " " + std::to_string(first.models.size()) +
                                        ": the i-th models are combined, so the counts must agree");
        const hoc::SavedSettings &these = saved.back().settings, &those = first.settings;
        if (these.mc_samples != those.mc_samples)
            throw std::invalid_argument(file + " was run with " + std::to_string(these.mc_samples) +
                                        " Monte Carlo passes, " + files.front() + " with " +
                                        std::to_string(those.mc_samples) + ": their means would not be alike");
        if (these.quick != those.quick)
            throw std::invalid_argument(file + " and " + files.front() +
                                        " come from a --quick run and a full one: not models to compare");
    }
    // As the programs ran: the quick runs' claim, and the note on Monte Carlo rules scored at the
    // one-pass epochs when any program scored them so (--mc-selection 0).
    s.mc_samples = saved.front().settings.mc_samples;
    s.quick = saved.front().settings.quick;
    for (const hoc::SavedModels& file : saved) s.mc_selection = s.mc_selection && file.settings.mc_selection;

    // Model i: the mean of the networks of every file's model i (a file's model may itself be an
    // ensemble: its networks join one by one, so that each network weighs the same).
    std::vector<hoc::SeedRun> models;
    for (std::size_t i = 0; i < saved.front().models.size(); ++i) {
        std::vector<hoc::SeedRun> networks;
        for (hoc::SavedModels& file : saved)
            for (hoc::SeedRun& network : file.models[i]) networks.push_back(std::move(network));
        models.push_back(hoc::ensemble_of(std::move(networks), corpus.dev.targets));
    }
    std::printf("%s on Hallmarks of Cancer: %zu model(s), each the mean of %zu networks' probabilities, from",
                name.c_str(), models.size(), models.front().members.size());
    for (const std::string& file : files) std::printf(" %s", file.c_str());
    std::printf("\n");
    return hoc::evaluate_models(name, models, corpus, s, nullptr);
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
