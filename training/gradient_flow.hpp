#pragma once
/// A gradient-flow monitor: what the lecture's vanishing-gradient section asks a practitioner to
/// look at, recorded while a model trains. Attach it to a model; after each backward() it records
/// the norm of every weight's gradient, layer by layer, and from the forward pass the fraction
/// of saturated sigmoid/tanh outputs and of dead ReLU units.
///
///     training::GradientFlowMonitor flow(model);
///     loss.backward();
///     flow.record();                 // after backward, before zero_grad
///     std::cout << flow.table();     // the latest step, first layer to last
///     flow.plot_layers("flow");      // gradient norm per layer (log scale), through gnuplot
///
/// Activations are seen through forward hooks on Sigmoid, Tanh, ReLU and LeakyReLU modules (a
/// functional relu() inside a forward is invisible to it); weights are the parameters named
/// "weight" with two or more dimensions (Linear, Conv, recurrent "weight_ih/hh" too).
///
/// The monitor holds a reference to the model: record() needs it alive. Its destructor removes
/// the hooks it added through their handles, which is safe after the model was destroyed.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <xgrad/nn/module.hpp>
#include <xgrad/training/plot.hpp>

namespace xgrad::training {

struct GradientFlowOptions {
    /// A sigmoid output outside [1 - s, s] (sigma' < s (1 - s), under 1% of its peak for 0.99) or
    /// a tanh output with |y| > s counts as saturated.
    double saturation = 0.99;
};

struct LayerFlow {
    std::string name;  ///< the parameter's dotted name
    double grad_norm;  ///< L2 norm of its gradient (NaN when it has none)
    double weight_norm;
};

struct ActivationFlow {
    std::string name, kind;  ///< module name, "Sigmoid" / "Tanh" / "ReLU" / "LeakyReLU"
    double saturated;        ///< sigmoid/tanh: fraction of outputs in the flat tails
    double dead;             ///< ReLU: fraction of units that were 0 for every example of the batch
};

struct FlowStep {
    int64_t step;
    std::vector<LayerFlow> layers;            ///< in registration order: input side first
    std::vector<ActivationFlow> activations;  ///< from the forward passes since the last record
};

class GradientFlowMonitor {
public:
    explicit GradientFlowMonitor(nn::Module& model, GradientFlowOptions options = {});
    ~GradientFlowMonitor();  ///< removes its hooks
    GradientFlowMonitor(const GradientFlowMonitor&) = delete;
    GradientFlowMonitor& operator=(const GradientFlowMonitor&) = delete;

    /// Records the current gradients and the activation statistics gathered since the last call.
    const FlowStep& record();
    const std::vector<FlowStep>& history() const { return history_; }
    /// The latest step as a table: each weight's gradient norm and its ratio to the last layer's,
    /// then each activation's saturated or dead fraction.
    std::string table() const;
    /// Gradient norm per layer at the latest step (log scale: a straight falling line is the
    /// vanishing gradient).
    PlotResult plot_layers(const std::string& base, PlotOptions options = {}) const;
    /// Each layer's gradient norm over the recorded steps.
    PlotResult plot_steps(const std::string& base, PlotOptions options = {}) const;

private:
    struct Pending {
        std::string kind;
        double saturated_sum = 0, dead_sum = 0;
        int64_t calls = 0;
    };
    nn::Module& model_;
    GradientFlowOptions options_;
    std::vector<nn::RemovableHandle> hooks_;
    std::vector<std::string> activation_order_;
    std::map<std::string, Pending> pending_;
    std::vector<FlowStep> history_;
};

}  // namespace xgrad::training
