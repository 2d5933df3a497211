// Trains a small classifier with everything a run carries between epochs: dropout on the default
// generator, a shuffling loader with its own generator, Adam, a step schedule, early stopping,
// a min-max scaler and step counters. Run by CTest (tests/resume_check.cmake):
//
//     resume_probe <epochs> <checkpoint out>                   # a fresh run
//     resume_probe <epochs> <checkpoint out> <checkpoint in>   # resumes from a checkpoint
//     resume_probe --save-forever <file>                       # saves until killed
//
// and checks that 2 epochs, then 2 more in a new process, save the same file as 4 in one.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {
struct Net : nn::Module {
    nn::Linear fc1{{.in_features = 5, .out_features = 16}};
    nn::Dropout dropout{{.p = 0.3}};
    nn::Linear fc2{{.in_features = 16, .out_features = 3}};
    Net() {
        register_module("fc1", fc1);
        register_module("dropout", dropout);
        register_module("fc2", fc2);
    }
    Tensor forward(const Tensor& x) override { return fc2(dropout(relu(fc1(x)))); }
};
}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--save-forever") {
        // Saves a 16 MB model until killed (tests/kill_check.cmake): a kill mid-save must leave
        // no temporary file behind.
        nn::Linear big({.in_features = 2048, .out_features = 2048});
        for (;;) save(big, argv[2]);
    }
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: %s <epochs> <checkpoint out> [checkpoint in]\n", argv[0]);
        return 2;
    }
    try {
        const int epochs = std::atoi(argv[1]);
        manual_seed(1);
        Generator data_gen(2);
        const Tensor raw = randn({96, 5}, {}, &data_gen) * 3.0 + 1.0;
        const Tensor labels = argmax(raw.narrow(1, 0, 3), 1);
        data::MinMaxScaler scaler({.feature_range = {-1, 1}});
        const data::TensorDataset train(scaler.fit_transform(raw), labels);
        Generator loader_gen(7);
        data::DataLoader loader(train, {.batch_size = 16, .shuffle = true, .generator = &loader_gen});
        Net model;
        optim::Adam opt(model.parameters(), {.lr = 0.02});
        optim::StepLR schedule(opt, {.step_size = 1, .gamma = 0.8});
        training::EarlyStopping stopper({.patience = 3});
        std::map<std::string, double> counters{{"epoch", 0}, {"step", 0}};
        const Checkpoint run{.model = &model,
                             .optimizer = &opt,
                             .schedulers = {&schedule},
                             .min_max_scaler = &scaler,
                             .early_stopping = &stopper,
                             .generators = {{"loader", &loader_gen}},
                             .values = &counters};
        if (argc == 4) {
            manual_seed(12345);  // whatever the default generator holds now, the checkpoint's wins
            load_checkpoint(argv[3], run);
        }
        model.train();
        for (int e = 0; e < epochs; ++e) {
            double total = 0;
            for (const data::Batch& batch : loader) {
                opt.zero_grad();
                const Tensor loss = nn::F::cross_entropy(model(batch.data), batch.target);
                loss.backward();
                opt.step();
                total += loss.item();
                counters["step"] += 1;
            }
            schedule.step();
            stopper.step(total / static_cast<double>(loader.size()));
            counters["epoch"] += 1;
        }
        save_checkpoint(argv[2], run);
        std::printf("epoch=%g step=%g best=%.17g\n", counters["epoch"], counters["step"], stopper.best());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
