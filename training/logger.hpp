#pragma once
/// A scalar logger: per-step and per-epoch numbers (loss, accuracy, lr, ...) written as they come,
/// to one CSV file per phase (a table any tool reads) and to one JSON Lines file (one object per
/// record, for scripts).
///
///     training::ScalarLogger log({.directory = "runs/mlp"});
///     log.log("step", step, {{"loss", loss.item()}, {"lr", opt.lr(0)}});
///     log.log("epoch", epoch, {{"train_loss", mean_loss}, {"test_accuracy", acc}});
///     // runs/mlp/step.csv, runs/mlp/epoch.csv, runs/mlp/log.jsonl
///
/// A phase's CSV columns are fixed by its first record; later records of the phase must carry
/// the same names. Files are flushed after every record, so a killed run keeps what it logged.

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xgrad::training {

struct ScalarLoggerOptions {
    std::string directory = ".";  ///< created if missing
    bool csv = true;
    bool jsonl = true;
    std::string jsonl_name = "log.jsonl";
    /// Continue existing files (a resumed run) instead of replacing them; the records already in a
    /// phase's CSV come back in history() and indices().
    bool append = false;
};

class ScalarLogger {
public:
    explicit ScalarLogger(ScalarLoggerOptions options = {});
    /// Records values under phase ("step", "epoch", "validation", ...) at index. Non-finite values
    /// are written as nan/inf in CSV and null in JSON (which has no such numbers).
    void log(const std::string& phase, int64_t index, const std::map<std::string, double>& values);
    /// Every record of a phase so far: the values of one name, in order (for plots).
    std::vector<double> history(const std::string& phase, const std::string& name) const;
    std::vector<int64_t> indices(const std::string& phase) const;
    std::string csv_path(const std::string& phase) const;
    std::string jsonl_path() const;

private:
    struct Phase {
        std::vector<std::string> columns;
        std::unique_ptr<std::ofstream> csv;
        std::vector<int64_t> indices;
        std::map<std::string, std::vector<double>> values;
    };
    static void read_history(const std::string& path, const std::map<std::string, double>& values, Phase& phase);
    ScalarLoggerOptions options_;
    std::map<std::string, Phase> phases_;
    std::ofstream jsonl_;
};

}  // namespace xgrad::training
