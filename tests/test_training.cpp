// The training toolkit: early stopping's counts, the progress bar's lines in each style (with a
// clock the test controls), the scalar logger's CSV and JSON Lines, and the gnuplot script and
// pictures the plot writes (or, without gnuplot, how it says to render them).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace fs = std::filesystem;

namespace {
std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(training_toolkit)

BOOST_AUTO_TEST_CASE(early_stopping_counts_epochs_without_improvement) {
    // min mode, patience 2, min_delta 0.05: 1.0 (best), 0.97 (not by more than 0.05), 0.9 (best),
    // 0.88 (no), 0.87 (no): the second bad epoch in a row stops.
    training::EarlyStopping stopper({.patience = 2, .min_delta = 0.05});
    const std::vector<double> losses = {1.0, 0.97, 0.9, 0.88, 0.87};
    const std::vector<bool> improved = {true, false, true, false, false}, stop = {false, false, false, false, true};
    for (std::size_t i = 0; i < losses.size(); ++i) {
        BOOST_TEST(stopper.step(losses[i]) == stop[i], "epoch " << i + 1);
        BOOST_TEST(stopper.improved() == improved[i], "epoch " << i + 1);
    }
    BOOST_TEST(stopper.best() == 0.9);
    BOOST_TEST(stopper.best_epoch() == 3);
    BOOST_TEST(stopper.bad_epochs() == 2);

    // max mode (an F1 score); NaN never improves; the state resumes the count.
    training::EarlyStopping f1({.patience = 3, .mode = training::Mode::max});
    f1.step(0.5);
    f1.step(std::nan(""));
    BOOST_TEST(!f1.improved());
    f1.step(0.6);
    BOOST_TEST(f1.best_epoch() == 3);
    f1.step(0.55);
    training::EarlyStopping resumed({.patience = 3, .mode = training::Mode::max});
    resumed.load_state_dict(f1.state_dict());
    BOOST_TEST(resumed.bad_epochs() == 1);
    BOOST_TEST(!resumed.step(0.59));
    BOOST_TEST(resumed.step(0.58));  // third epoch without beating 0.6
    check_error([] { training::EarlyStopping({.patience = 0}); }, {"EarlyStopping", "patience", "0"});
    check_error([&] { resumed.load_state_dict({{"best", 1}}); }, {"EarlyStopping", "no entry"});
    auto corrupt = f1.state_dict();
    corrupt["epochs"] = -3;
    check_error([&] { resumed.load_state_dict(corrupt); }, {"EarlyStopping", "\"epochs\"", "whole number"});
}

BOOST_AUTO_TEST_CASE(progress_lines_show_running_means_rate_and_time_left) {
    double clock = 100;
    std::ostringstream out;
    training::ProgressBar bar(
        {.total = 4, .description = "epoch 1/3", .out = &out, .line_every = 2, .width = 8, .clock = [&] {
             return clock;
         }});
    BOOST_TEST((bar.style() == training::ProgressStyle::lines));  // not a terminal
    clock = 101;
    bar.update(10, {{"loss", 1.0}, {"acc", 0.5}});
    clock = 102;
    bar.update(30, {{"loss", 0.6}, {"acc", 0.9}});  // line 1: means weighted by samples
    clock = 103;
    bar.update(30, {{"loss", 0.5}, {"acc", 1.0}});
    clock = 104;
    bar.update(30, {{"loss", 0.5}, {"acc", 1.0}});
    bar.finish();
    bar.finish();  // once only
    const auto lines = lines_of(out.str());
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    // After 2 batches: loss (10 * 1 + 30 * 0.6) / 40 = 0.7, acc (5 + 27) / 40 = 0.8, 40 samples in
    // 2 s, 2 s left for the other 2 batches.
    BOOST_TEST(lines[0] == "epoch 1/3 2/4 [====....] acc 0.8 loss 0.7 | 20 samples/s | ETA 2.0 s");
    BOOST_TEST(lines[1] == "epoch 1/3 4/4 [========] acc 0.92 loss 0.58 | 25 samples/s | 4.0 s");
    BOOST_TEST(bar.mean("loss") == 0.58, boost::test_tools::tolerance(1e-12));
    check_error([&] { bar.mean("f1"); }, {"ProgressBar", "\"f1\"", "acc, loss"});
    check_error([&] { bar.update(1); }, {"ProgressBar", "finished"});
    // A value reported by some batches only is averaged over those batches' samples.
    {
        std::ostringstream quiet_out;
        training::ProgressBar partial({.total = 3, .out = &quiet_out, .style = training::ProgressStyle::quiet});
        partial.update(10, {{"loss", 1.0}});
        partial.update(30, {{"loss", 3.0}, {"val_acc", 0.5}});
        partial.update(10, {{"loss", 1.0}, {"val_acc", 1.0}});
        BOOST_TEST(partial.mean("loss") == 2.2, boost::test_tools::tolerance(1e-12));       // (10 + 90 + 10) / 50
        BOOST_TEST(partial.mean("val_acc") == 0.625, boost::test_tools::tolerance(1e-12));  // (15 + 10) / 40
    }

    // The bar redraws one line in place and ends it; quiet writes nothing.
    std::ostringstream drawn, silent;
    {
        training::ProgressBar redraw(
            {.total = 2, .out = &drawn, .style = training::ProgressStyle::bar, .width = 4, .clock = [&] {
                 return clock += 1;
             }});
        redraw.update(5, {{"loss", 2}});
        redraw.update(5, {{"loss", 1}});
    }  // the destructor finishes
    BOOST_TEST(drawn.str().front() == '\r');
    BOOST_TEST(drawn.str().back() == '\n');
    BOOST_TEST(contains(drawn.str(), "2/2 [====] loss 1.5"));
    training::ProgressBar none({.total = 2, .out = &silent, .style = training::ProgressStyle::quiet});
    none.update(1, {{"loss", 1}});
    none.finish();
    BOOST_TEST(silent.str().empty());

    BOOST_TEST(training::format_duration(7.25) == "7.2 s");
    BOOST_TEST(training::format_duration(125) == "2:05");
    BOOST_TEST(training::format_duration(59.96) == "1:00");  // not "60.0 s"
    BOOST_TEST(training::format_duration(59.94) == "59.9 s");
    BOOST_TEST(training::format_duration(3723) == "1:02:03");
}

BOOST_AUTO_TEST_CASE(scalar_logger_writes_csv_and_json_lines) {
    const fs::path dir = scratch("logs");
    fs::remove_all(dir);
    {
        training::ScalarLogger log({.directory = dir.string()});
        log.log("step", 1, {{"loss", 0.5}, {"lr", 0.1}});
        log.log("step", 2, {{"loss", 0.25}, {"lr", 0.1}});
        log.log("epoch", 1, {{"test_accuracy", 0.875}, {"train_loss", std::nan("")}});
        check_error([&] { log.log("step", 3, {{"loss", 0.1}}); }, {"ScalarLogger", "\"step\"", "loss, lr", "has loss"});
        check_error([&] { log.log("bad/phase", 1, {{"x", 1}}); }, {"ScalarLogger", "bad/phase"});
        check_error([&] { log.log("other", 1, {{"index", 1}}); }, {"ScalarLogger", "\"index\""});
        BOOST_TEST((log.history("step", "loss") == std::vector<double>{0.5, 0.25}));
        BOOST_TEST((log.indices("step") == std::vector<int64_t>{1, 2}));
    }
    BOOST_TEST(read_text(dir / "step.csv") == "index,loss,lr\n1,0.5,0.1\n2,0.25,0.1\n");
    BOOST_TEST(read_text(dir / "epoch.csv") == "index,test_accuracy,train_loss\n1,0.875,nan\n");
    BOOST_TEST(read_text(dir / "log.jsonl") ==
               "{\"phase\": \"step\", \"index\": 1, \"loss\": 0.5, \"lr\": 0.1}\n"
               "{\"phase\": \"step\", \"index\": 2, \"loss\": 0.25, \"lr\": 0.1}\n"
               "{\"phase\": \"epoch\", \"index\": 1, \"test_accuracy\": 0.875, \"train_loss\": null}\n");
    // A resumed run appends, without a second header.
    {
        training::ScalarLogger log({.directory = dir.string(), .append = true});
        log.log("step", 3, {{"loss", 0.125}, {"lr", 0.05}});
    }
    BOOST_TEST(read_text(dir / "step.csv") == "index,loss,lr\n1,0.5,0.1\n2,0.25,0.1\n3,0.125,0.05\n");
    BOOST_TEST(lines_of(read_text(dir / "log.jsonl")).size() == 4u);
    // The resumed logger's history holds the records before the resume too (for its plots).
    {
        training::ScalarLogger log({.directory = dir.string(), .append = true});
        log.log("step", 4, {{"loss", 0.0625}, {"lr", 0.05}});
        log.log("epoch", 2, {{"test_accuracy", 0.9}, {"train_loss", 0.2}});
        BOOST_TEST((log.history("step", "loss") == std::vector<double>{0.5, 0.25, 0.125, 0.0625}));
        BOOST_TEST((log.indices("step") == std::vector<int64_t>{1, 2, 3, 4}));
        const auto train_loss = log.history("epoch", "train_loss");
        BOOST_TEST_REQUIRE(train_loss.size() == 2u);
        BOOST_TEST(std::isnan(train_loss[0]));
        BOOST_TEST(train_loss[1] == 0.2);
    }
    // Resuming with other values is an error naming the file, before anything is written.
    {
        training::ScalarLogger log({.directory = dir.string(), .append = true});
        check_error([&] { log.log("step", 5, {{"loss", 0.1}}); }, {"step.csv", "records loss, lr", "logs loss"});
    }
    BOOST_TEST(read_text(dir / "step.csv") == "index,loss,lr\n1,0.5,0.1\n2,0.25,0.1\n3,0.125,0.05\n4,0.0625,0.05\n");
    // A run killed in the middle of a row: the next resume leaves the cut row out of the history
    // and starts its own rows on a new line.
    {
        std::ofstream(dir / "step.csv", std::ios::app) << "5,0.03";
        training::ScalarLogger log({.directory = dir.string(), .append = true});
        log.log("step", 5, {{"loss", 0.03125}, {"lr", 0.05}});
        BOOST_TEST((log.indices("step") == std::vector<int64_t>{1, 2, 3, 4, 5}));
    }
    BOOST_TEST(read_text(dir / "step.csv") ==
               "index,loss,lr\n1,0.5,0.1\n2,0.25,0.1\n3,0.125,0.05\n4,0.0625,0.05\n5,0.03\n5,0.03125,0.05\n");
    // A value name with a line break would split the header a resumed run reads line by line.
    training::ScalarLogger fresh({.directory = (dir / "breaks").string()});
    check_error([&] { fresh.log("step", 1, {{"loss\nb", 0.5}}); }, {"ScalarLogger::log", "line break"});
}

BOOST_AUTO_TEST_CASE(plots_go_through_gnuplot_with_a_readable_script) {
    const fs::path dir = scratch("plots");
    fs::create_directories(dir);
    std::vector<training::Series> series;
    for (int k = 0; k < 9; ++k) {  // the nine optimizers of the lecture's comparison
        training::Series s{"optimizer " + std::to_string(k), {}, {}};
        for (int epoch = 1; epoch <= 12; ++epoch) {
            s.x.push_back(epoch);
            s.y.push_back((k + 1.0) / std::pow(10.0, epoch));
        }
        series.push_back(s);
    }
    series[0].y[3] = std::nan("");  // a gap
    const std::string base = (dir / "losses").string();
    const auto result = training::plot(
        base, series, {.title = "loss \"per\" epoch", .x_label = "epoch", .y_label = "loss", .log_y = true});
    const std::string script = read_text(base + ".gp");
    BOOST_TEST(contains(script, "set logscale y 10"));
    BOOST_TEST(contains(script, "set format y \"10^{%L}\""));  // powers of ten, not raw log10
    BOOST_TEST(contains(script, "set key outside right top"));
    BOOST_TEST(contains(script, "set xtics 2\nset format x \"%.0f\""));  // whole epochs, about ten ticks
    BOOST_TEST(contains(script, "set title \"loss \\\"per\\\" epoch\""));
    std::set<std::string> colours;
    for (const auto& line : lines_of(script))
        if (line.rfind("set style line", 0) == 0) colours.insert(line.substr(line.find("rgb"), 13));
    BOOST_TEST(colours.size() == 9u);  // nine series, nine colours
    BOOST_TEST(contains(script, "index 8 using 1:2 with lines ls 9 title \"optimizer 8\""));
    const auto data = lines_of(read_text(base + ".dat"));
    BOOST_TEST(data[0] == "# optimizer 0");
    BOOST_TEST(data[1] == "1 0.10000000000000001");
    BOOST_TEST(data[4] == "4 NaN");
    if (!training::find_program("gnuplot").empty()) {
        BOOST_TEST(result.rendered, result.message);
        BOOST_TEST(read_text(result.png_path).substr(1, 3) == "PNG");
        BOOST_TEST(contains(read_text(result.svg_path), "<svg"));
    }

    // Without gnuplot the data and script remain, and the message says how to render them.
    const auto missing = training::plot((dir / "offline").string(), {series[1]}, {.gnuplot = "/nonexistent/gnuplot"});
    BOOST_TEST(!missing.rendered);
    BOOST_TEST(fs::exists(missing.script_path));
    BOOST_TEST(contains(missing.message, "gnuplot was not found"));
    BOOST_TEST(contains(missing.message, "gnuplot-nox"));
    BOOST_TEST(contains(missing.message, "gnuplot " + missing.script_path));
    check_error([&] { training::plot(base, {{"bad", {1, 2}, {1}}}); }, {"plot", "\"bad\"", "2 x values", "1 y values"});
    check_error([&] { training::plot(base, {}); }, {"plot", "no series"});
    // A line break in a label stays inside its string (escaped) and off the data lines.
    const auto broken = training::plot((dir / "two_lines").string(), {{"first\nsecond", {1, 2}, {3, 4}}},
                                       {.title = "a\nb", .gnuplot = ""});
    BOOST_TEST(contains(read_text(broken.script_path), "set title \"a\\nb\""));
    BOOST_TEST(lines_of(read_text(broken.data_path))[0] == "# first second");
}

BOOST_AUTO_TEST_CASE(gradient_flow_monitor_sees_saturation_dead_units_and_vanishing_gradients) {
    // Pre-activations set by hand, one example: sigmoid(10) = 0.99995 is saturated, sigmoid(0)
    // is not (1 of 2); tanh(5) is, tanh(0.1) is not (1 of 2); ReLU of (3, -1, 0): 2 of 3 units
    // never positive.
    nn::Sequential net;
    auto& to_sigmoid = net.emplace<nn::Linear>({.in_features = 1, .out_features = 2});
    net.emplace<nn::Sigmoid>();
    auto& to_tanh = net.emplace<nn::Linear>({.in_features = 2, .out_features = 2});
    net.emplace<nn::Tanh>();
    auto& to_relu = net.emplace<nn::Linear>({.in_features = 2, .out_features = 3});
    net.emplace<nn::ReLU>();
    {
        NoGradGuard no_grad;
        to_sigmoid.weight.copy_(tensor({{10.0}, {0.0}}));
        to_sigmoid.bias.zero_();
        to_tanh.weight.zero_();
        to_tanh.bias.copy_(tensor({5.0, 0.1}));
        to_relu.weight.zero_();
        to_relu.bias.copy_(tensor({3.0, -1.0, 0.0}));
    }
    training::GradientFlowMonitor flow(net);
    net(ones({1, 1})).sum().backward();
    const training::FlowStep& step = flow.record();
    BOOST_TEST_REQUIRE(step.activations.size() == 3u);
    BOOST_TEST(step.activations[0].kind == "Sigmoid");
    BOOST_TEST(step.activations[0].saturated == 0.5);
    BOOST_TEST(step.activations[1].saturated == 0.5);
    BOOST_TEST(step.activations[2].dead == 2.0 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST_REQUIRE(step.layers.size() == 3u);
    BOOST_TEST(step.layers[0].name == "0.weight");
    BOOST_TEST(step.layers[2].grad_norm == to_relu.weight.grad().norm().item());
    BOOST_TEST(contains(flow.table(), "2.weight"));
    BOOST_TEST(contains(flow.table(), "66.7%"));
    // Nothing ran forward since: no activation statistics in the next record.
    BOOST_TEST(flow.record().activations.empty());
}

BOOST_AUTO_TEST_CASE(gradient_flow_shows_the_vanishing_gradient_of_deep_sigmoid_nets) {
    // The lecture's claim, measured: through 10 sigmoid layers the first layer's gradient is far
    // smaller than the last one's (the vanishing_gradient tutorial sees 1e-6); through ReLU layers
    // (He init) it stays within two orders of magnitude.
    auto first_to_last = [](bool sigmoid) {
        manual_seed(3);
        nn::Sequential net;
        for (int d = 0; d < 10; ++d) {
            auto& layer = net.emplace<nn::Linear>({.in_features = 32, .out_features = 32});
            if (sigmoid) {
                nn::init::xavier_normal_(layer.weight);
                net.emplace<nn::Sigmoid>();
            } else {
                nn::init::kaiming_normal_(layer.weight, 0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu);
                net.emplace<nn::ReLU>();
            }
        }
        net.emplace<nn::Linear>({.in_features = 32, .out_features = 1});
        training::GradientFlowMonitor flow(net);
        nn::F::mse_loss(net(randn({64, 32})), randn({64, 1})).backward();
        const auto& layers = flow.record().layers;
        return layers.front().grad_norm / layers[layers.size() - 2].grad_norm;  // first hidden vs last hidden
    };
    const double sigmoid = first_to_last(true), relu = first_to_last(false);
    BOOST_TEST(sigmoid < 1e-3, "sigmoid first/last " << sigmoid);
    BOOST_TEST((relu > 1e-2 && relu < 1e2), "relu first/last " << relu);

    nn::Sequential tiny;
    tiny.emplace<nn::Linear>({.in_features = 2, .out_features = 2});
    training::GradientFlowMonitor flow(tiny);
    check_error([&] { flow.table(); }, {"GradientFlowMonitor", "record()"});
    tiny(ones({1, 2})).sum().backward();
    flow.record();
    const auto plotted = flow.plot_layers(scratch("flow").string(), {.gnuplot = ""});
    BOOST_TEST(contains(read_text(plotted.script_path), "set logscale y 10"));

    // A model destroyed before its monitor: the monitor's destructor must not touch it.
    {
        auto model = std::make_unique<nn::Sequential>();
        model->emplace<nn::Linear>({.in_features = 2, .out_features = 2});
        model->emplace<nn::Tanh>();
        training::GradientFlowMonitor outliving(*model);
        (*model)(ones({1, 2})).sum().backward();
        BOOST_TEST(outliving.record().activations.size() == 1u);
        model.reset();
    }
}

BOOST_AUTO_TEST_SUITE_END()
