#include <xgrad/nn/summary.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {

Summary summary(Module& model, const Shape& input_shape, DType dtype) {
    Summary s;
    std::map<const Module*, std::pair<std::string, int>> names;  // module -> (dotted name, depth)
    for (auto& [name, m] : model.named_modules())
        names[m] = {name, name.empty() ? 0 : static_cast<int>(std::count(name.begin(), name.end(), '.')) + 1};

    std::vector<RemovableHandle> hooks;
    for (auto& [name, m] : model.named_modules()) {
        if (m == &model) continue;
        hooks.push_back(m->register_forward_hook([&s, &names](Module& mod, const Tensor&, const Tensor& out) {
            int64_t own = 0;
            for (const Tensor& p : mod.parameters(false)) own += p.numel();
            const auto& [name, depth] = names[&mod];
            s.rows.push_back({name, mod.type_name(), out.sizes(), own, depth});
            s.activation_bytes += out.numel() * static_cast<int64_t>(element_size(out.dtype()));
        }));
    }
    const bool was_training = model.is_training();
    model.eval();
    try {
        NoGradGuard no_grad;
        model(zeros(input_shape, dtype));
    } catch (...) {
        for (RemovableHandle& h : hooks) h.remove();
        model.train(was_training);
        throw;
    }
    for (RemovableHandle& h : hooks) h.remove();
    model.train(was_training);

    for (const Tensor& p : model.parameters()) {
        s.total_params += p.numel();
        (p.requires_grad() ? s.trainable_params : s.non_trainable_params) += p.numel();
        s.param_bytes += p.numel() * static_cast<int64_t>(element_size(p.dtype()));
    }
    for (const Tensor& b : model.buffers()) {
        if (!b.defined()) continue;
        s.non_trainable_params += b.numel();
        s.param_bytes += b.numel() * static_cast<int64_t>(element_size(b.dtype()));
    }
    return s;
}

std::ostream& operator<<(std::ostream& out, const Summary& s) {
    auto shape_text = [](const Shape& shape) {
        std::ostringstream text;
        text << shape;
        return text.str();
    };
    auto with_commas = [](int64_t n) {
        std::string digits = std::to_string(n), result;
        for (std::size_t i = 0; i < digits.size(); ++i) {
            if (i > 0 && (digits.size() - i) % 3 == 0) result += ',';
            result += digits[i];
        }
        return result;
    };
    const std::string rule(72, '=');
    char line[160];
    out << rule << '\n';
    std::snprintf(line, sizeof line, "%-36s %-22s %12s\n", "Layer (type)", "Output shape", "Param #");
    out << line << rule << '\n';
    for (const SummaryRow& r : s.rows) {
        const std::string label =
            std::string(static_cast<std::size_t>(2 * (r.depth - 1)), ' ') + r.name + " (" + r.type + ")";
        std::snprintf(line, sizeof line, "%-36s %-22s %12s\n", label.c_str(), shape_text(r.output_shape).c_str(),
                      with_commas(r.params).c_str());
        out << line;
    }
    out << rule << '\n';
    out << "Total params: " << with_commas(s.total_params) << '\n';
    out << "Trainable params: " << with_commas(s.trainable_params) << '\n';
    out << "Non-trainable params (incl. buffers): " << with_commas(s.non_trainable_params) << '\n';
    std::snprintf(line, sizeof line, "Params and buffers size (MB): %.2f\nForward pass size (MB): %.2f\n",
                  static_cast<double>(s.param_bytes) / 1e6, static_cast<double>(s.activation_bytes) / 1e6);
    out << line << rule << '\n';
    return out;
}

}  // namespace xgrad::nn
