#include <xgrad/training/gradient_flow.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::training {
namespace {
bool is_weight(const std::string& name, const Tensor& p) {
    const auto dot = name.rfind('.');
    const std::string last = dot == std::string::npos ? name : name.substr(dot + 1);
    return p.dim() >= 2 && last.rfind("weight", 0) == 0;
}

double fraction(const Tensor& mask) {
    return mask.to(kFloat64).mean().item();
}
}  // namespace

GradientFlowMonitor::GradientFlowMonitor(nn::Module& model, GradientFlowOptions options)
    : model_(model), options_(options) {
    XGRAD_CHECK(options.saturation > 0.5 && options.saturation < 1,
                "GradientFlowMonitor: saturation must be in (0.5, 1), got ", options.saturation);
    for (const auto& [name, module] : model.named_modules()) {
        const std::string kind = module->type_name();
        if (kind != "Sigmoid" && kind != "Tanh" && kind != "ReLU" && kind != "LeakyReLU") continue;
        const std::string label = name.empty() ? kind : name;
        activation_order_.push_back(label);
        pending_[label].kind = kind;
        const double s = options_.saturation;
        hooks_.push_back(
            module->register_forward_hook([this, label, kind, s](nn::Module&, const Tensor&, const Tensor& y) {
                NoGradGuard no_grad;
                if (y.numel() == 0) return;
                Pending& p = pending_[label];
                if (kind == "Sigmoid") {
                    p.saturated_sum += fraction(logical_or(y > s, lt(y, scalar_like(y, 1 - s))));
                } else if (kind == "Tanh") {
                    p.saturated_sum += fraction(abs(y) > s);
                } else {  // a unit is dead for this batch when no example makes it positive
                    const Tensor units = y.dim() <= 1 ? y.reshape({1, -1}) : y.reshape({y.size(0), -1});
                    p.dead_sum += 1 - fraction(amax(units, {0}) > 0.0);
                }
                ++p.calls;
            }));
    }
}

GradientFlowMonitor::~GradientFlowMonitor() {
    for (nn::RemovableHandle& hook : hooks_) hook.remove();
}

const FlowStep& GradientFlowMonitor::record() {
    NoGradGuard no_grad;
    FlowStep step{static_cast<int64_t>(history_.size()) + 1, {}, {}};
    for (const auto& [name, p] : model_.named_parameters()) {
        if (!is_weight(name, p)) continue;
        const Tensor g = p.grad();
        step.layers.push_back(
            {name, g.defined() ? norm(g).item() : std::numeric_limits<double>::quiet_NaN(), norm(p).item()});
    }
    for (const std::string& label : activation_order_) {
        Pending& p = pending_[label];
        if (p.calls == 0) continue;  // not called since the last record
        const auto calls = static_cast<double>(p.calls);
        const bool relu = p.kind == "ReLU" || p.kind == "LeakyReLU";
        step.activations.push_back(
            {label, p.kind, relu ? std::nan("") : p.saturated_sum / calls, relu ? p.dead_sum / calls : std::nan("")});
        p = Pending{p.kind};
    }
    history_.push_back(std::move(step));
    return history_.back();
}

std::string GradientFlowMonitor::table() const {
    XGRAD_CHECK(!history_.empty(), "GradientFlowMonitor::table: nothing recorded yet (call record() after backward())");
    const FlowStep& s = history_.back();
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "step %lld\n%-32s %12s %12s %12s\n", static_cast<long long>(s.step), "weight",
                  "grad norm", "vs last", "weight norm");
    out += line;
    const double last = s.layers.empty() ? std::nan("") : s.layers.back().grad_norm;
    for (const LayerFlow& l : s.layers) {
        std::snprintf(line, sizeof line, "%-32s %12.3e %12.3e %12.3e\n", l.name.c_str(), l.grad_norm,
                      l.grad_norm / last, l.weight_norm);
        out += line;
    }
    if (!s.activations.empty()) {
        std::snprintf(line, sizeof line, "%-32s %-10s %12s %12s\n", "activation", "kind", "saturated", "dead units");
        out += line;
        for (const ActivationFlow& a : s.activations) {
            auto percent = [](double v) {
                if (std::isnan(v)) return std::string("-");
                char text[32];
                std::snprintf(text, sizeof text, "%.1f%%", 100 * v);
                return std::string(text);
            };
            std::snprintf(line, sizeof line, "%-32s %-10s %12s %12s\n", a.name.c_str(), a.kind.c_str(),
                          percent(a.saturated).c_str(), percent(a.dead).c_str());
            out += line;
        }
    }
    return out;
}

PlotResult GradientFlowMonitor::plot_layers(const std::string& base, PlotOptions options) const {
    XGRAD_CHECK(!history_.empty(), "GradientFlowMonitor::plot_layers: nothing recorded yet");
    Series s{"step " + std::to_string(history_.back().step), {}, {}};
    for (std::size_t i = 0; i < history_.back().layers.size(); ++i) {
        s.x.push_back(static_cast<double>(i + 1));
        s.y.push_back(history_.back().layers[i].grad_norm);
    }
    if (options.title.empty()) options.title = "Gradient norm per layer";
    if (options.x_label.empty()) options.x_label = "layer (1 = input side)";
    if (options.y_label.empty()) options.y_label = "||dL/dW||";
    options.log_y = true;
    options.points = true;
    return plot(base, {s}, options);
}

PlotResult GradientFlowMonitor::plot_steps(const std::string& base, PlotOptions options) const {
    XGRAD_CHECK(!history_.empty(), "GradientFlowMonitor::plot_steps: nothing recorded yet");
    std::vector<Series> series;
    for (std::size_t i = 0; i < history_.back().layers.size(); ++i) {
        Series s{history_.back().layers[i].name, {}, {}};
        for (const FlowStep& step : history_) {
            if (i >= step.layers.size()) continue;
            s.x.push_back(static_cast<double>(step.step));
            s.y.push_back(step.layers[i].grad_norm);
        }
        series.push_back(std::move(s));
    }
    if (options.title.empty()) options.title = "Gradient norm per layer over training";
    if (options.x_label.empty()) options.x_label = "step";
    if (options.y_label.empty()) options.y_label = "||dL/dW||";
    options.log_y = true;
    return plot(base, series, options);
}

}  // namespace xgrad::training
