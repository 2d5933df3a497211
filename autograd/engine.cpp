// The engine: counts how many gradients each node waits for, then runs nodes in reverse
// topological order from an explicit stack (no recursion, so a 1,000-step RNN cannot overflow the
// C++ stack), summing the gradients that meet at a node before calling it.

#include <xgrad/autograd/engine.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor_impl.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::autograd {
namespace {

struct NodeSlot {
    Node* node;
    uint32_t slot;
    bool operator==(const NodeSlot& o) const { return node == o.node && slot == o.slot; }
};
struct NodeSlotHash {
    std::size_t operator()(const NodeSlot& k) const { return std::hash<Node*>()(k.node) * 31 + k.slot; }
};

bool all_finite(const Tensor& t) {
    if (!is_floating(t.dtype())) return true;
    const NDArray d = t.data().to(kFloat64).contiguous();
    const double* p = d.data<double>();
    for (int64_t i = 0; i < d.numel(); ++i)
        if (!std::isfinite(p[i])) return false;
    return true;
}

// Makes a node's gradient for input i match that input: summed over broadcast dims, cast back.
Tensor conform(Tensor g, const TensorMeta& meta, const Node& node, std::size_t i) {
    if (g.sizes() != meta.sizes) {
        XGRAD_INTERNAL_ASSERT(sums_down_to(g.sizes(), meta.sizes), "the backward of ", node.name(),
                              " returned a gradient of shape ", g.sizes(), " for input ", i, " of shape ", meta.sizes);
        g = sum_to(g, meta.sizes);
    }
    if (g.dtype() != meta.dtype) g = to(g, meta.dtype);
    return g;
}

struct GraphTask {
    uint64_t id = 0;
    // autograd::grad: the inputs whose gradients are taken at each (node, output slot), and the
    // nodes worth running, those with a path to such a node (PyTorch's exec_info): the rest of
    // the graph is neither run nor freed, nor are its hooks called.
    std::unordered_map<NodeSlot, std::vector<std::size_t>, NodeSlotHash> captures;
    std::unordered_set<const Node*> needed;
    std::vector<Tensor> captured;
    bool keep_graph = false;
    bool create_graph = false;
    bool accumulate = true;  // false for autograd::grad: leaves' grad() stay untouched
};

uint64_t new_task_id() {
    static std::atomic<uint64_t> next{1};
    return next++;
}

// The node's bookkeeping for this task, reset the first time the task touches it.
Node::EngineState& state_of(GraphTask& task, Node* node) {
    Node::EngineState& s = node->engine_state;
    if (s.task != task.id) {
        s.task = task.id;
        s.dependencies = 0;
        s.buffer.clear();
        s.owned.clear();
    }
    return s;
}

// The buffer slot of `edge`, with whether the engine owns its tensor (allocated it, so nobody else
// holds it and it may be added into in place).
std::pair<Tensor&, std::vector<bool>::reference> buffer_slot(GraphTask& task, const Edge& edge) {
    Node::EngineState& state = state_of(task, edge.function.get());
    const std::size_t outputs = edge.function->output_meta.size();
    if (state.buffer.size() < outputs) state.buffer.resize(outputs);
    if (state.owned.size() < outputs) state.owned.resize(outputs, false);
    return {state.buffer[edge.input_nr], state.owned[edge.input_nr]};
}

void add_to_buffer(GraphTask& task, const Edge& edge, Tensor g) {
    auto [slot, owned] = buffer_slot(task, edge);
    if (!slot.defined()) {
        slot = std::move(g);
        owned = false;
    } else if (owned && !task.create_graph && slot.sizes() == g.sizes()) {
        kernels::binary_out(kernels::Binary::add, slot.data(), slot.data(), g.data());
    } else {
        // Recorded when create_graph: the sum is part of the graph of the gradient.
        slot = add(slot, g);
        owned = !task.create_graph;
    }
}

// A region view's gradient (Node::Region) added into that region of its input's gradient: the
// input's buffer becomes a tensor of the engine's own, zeros where no view has added anything.
void add_region_to_buffer(GraphTask& task, const Edge& edge, const Node::Region& r, Tensor g, const TensorMeta& input) {
    auto [slot, owned] = buffer_slot(task, edge);
    if (!slot.defined()) {
        slot = zeros(input.sizes, input.dtype);
    } else if (!owned) {
        slot = slot.clone();
    }
    owned = true;
    if (r.dim_removed) g = g.unsqueeze(r.dim);
    NDArray region = slot.data().slice(r.dim, r.start, r.end, r.step);
    kernels::binary_out(kernels::Binary::add, region, region, g.data().to(input.dtype));
}

// Under autograd::grad, whether the edge's node takes a capture or leads to one.
bool leads_to_capture(const GraphTask& task, const Edge& edge) {
    const Node* n = edge.function.get();
    if (task.needed.count(n)) return true;
    for (uint32_t slot = 0; slot < n->output_meta.size(); ++slot)
        if (task.captures.count({const_cast<Node*>(n), slot})) return true;
    return false;
}

void count_dependencies(GraphTask& task, const std::vector<Edge>& roots) {
    std::vector<Node*> stack;
    auto first_visit = [&](Node* n) {
        if (n->engine_state.visited == task.id) return false;
        n->engine_state.visited = task.id;
        return true;
    };
    for (const Edge& e : roots)
        if (first_visit(e.function.get())) stack.push_back(e.function.get());
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (const Edge& e : n->next_edges) {
            if (!e.valid()) continue;
            ++state_of(task, e.function.get()).dependencies;
            if (first_visit(e.function.get())) stack.push_back(e.function.get());
        }
    }
}

// For autograd::grad: marks every node with a path to a capture (see GraphTask::needed), by a
// post-order walk of the graph from the roots without recursion.
void mark_needed(GraphTask& task, const std::vector<Edge>& roots) {
    std::unordered_set<const Node*> capture_nodes, done;
    for (const auto& [where, inputs] : task.captures) capture_nodes.insert(where.node);
    std::vector<std::pair<Node*, std::size_t>> stack;  // node, next edge to look at
    for (const Edge& e : roots)
        if (done.insert(e.function.get()).second) stack.emplace_back(e.function.get(), 0);
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->next_edges.size()) {
            Node* child = node->next_edges[next++].function.get();
            if (child != nullptr && done.insert(child).second) stack.emplace_back(child, 0);
            continue;
        }
        for (const Edge& e : node->next_edges)
            if (e.valid() && (capture_nodes.count(e.function.get()) || task.needed.count(e.function.get()))) {
                task.needed.insert(node);
                break;
            }
        stack.pop_back();
    }
}

void execute(GraphTask& task, const std::vector<Edge>& roots) {
    const bool pruned = !task.captures.empty();  // autograd::grad runs only the needed nodes
    std::vector<Node*> ready;
    for (const Edge& e : roots) {
        Node* n = e.function.get();
        if (state_of(task, n).dependencies == 0 && std::find(ready.begin(), ready.end(), n) == ready.end())
            ready.push_back(n);
    }

    while (!ready.empty()) {
        Node* node = ready.back();
        ready.pop_back();
        Grads grads = std::move(state_of(task, node).buffer);
        node->engine_state.buffer = Grads();
        node->engine_state.owned.clear();
        grads.resize(node->output_meta.size());

        // Captured before the tensors' hooks run, as PyTorch 1.13 does.
        if (pruned) {
            for (std::size_t slot = 0; slot < grads.size(); ++slot)
                if (auto it = task.captures.find({node, static_cast<uint32_t>(slot)}); it != task.captures.end())
                    for (std::size_t input : it->second) task.captured[input] = grads[slot];
            if (!task.needed.count(node)) continue;
        }
        for (std::size_t slot = 0; slot < node->output_hooks.size() && slot < grads.size(); ++slot)
            for (auto& [handle, hook] : node->output_hooks[slot])
                if (grads[slot].defined()) {
                    AutoGradMode mode(task.create_graph);
                    Tensor replaced = hook(grads[slot]);
                    if (replaced.defined()) grads[slot] = checked_hook_result(replaced, node->output_meta[slot]);
                }

        bool any_defined = false;
        for (const Tensor& g : grads) any_defined = any_defined || g.defined();
        if (node->region && any_defined && !task.create_graph && !AnomalyMode::is_enabled() &&
            node->next_edges.size() == 1) {
            // A region view: its gradient goes straight into the region of its input's buffer.
            node->check_before_backward();
            if (!task.keep_graph) node->release_saved();
            const Edge& edge = node->next_edges[0];
            if (edge.valid() && (!pruned || leads_to_capture(task, edge))) {
                add_region_to_buffer(task, edge, *node->region, grads[0], node->input_meta[0]);
                if (--state_of(task, edge.function.get()).dependencies == 0) ready.push_back(edge.function.get());
            }
            continue;
        }
        const bool is_leaf_node = node->next_edges.empty() && dynamic_cast<AccumulateGrad*>(node) != nullptr;
        Grads outputs;
        if (any_defined && (task.accumulate || !is_leaf_node)) {
            for (std::size_t slot = 0; slot < grads.size(); ++slot)
                if (!grads[slot].defined())
                    grads[slot] = zeros(node->output_meta[slot].sizes, node->output_meta[slot].dtype);
            AutoGradMode mode(task.create_graph);
            outputs = node->apply(std::move(grads));
            if (AnomalyMode::is_enabled())
                for (std::size_t i = 0; i < outputs.size(); ++i)
                    XGRAD_CHECK(!outputs[i].defined() || all_finite(outputs[i]), "anomaly detected: the backward of ",
                                node->name(), " returned NaN or Inf in its gradient for input ", i, " (shape ",
                                outputs[i].sizes(), ")");
        }
        if (!task.keep_graph) node->release_saved();

        for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
            const Edge& edge = node->next_edges[i];
            if (!edge.valid() || (pruned && !leads_to_capture(task, edge))) continue;
            if (i < outputs.size() && outputs[i].defined()) {
                AutoGradMode mode(task.create_graph);
                add_to_buffer(task, edge, conform(outputs[i], node->input_meta[i], *node, i));
            }
            if (--state_of(task, edge.function.get()).dependencies == 0) ready.push_back(edge.function.get());
        }
    }
}

// Seeds the task with the output gradients; returns the root edges.
std::vector<Edge> seed(GraphTask& task, const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                       const char* op) {
    XGRAD_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, ": got ", grad_outputs.size(),
                " gradients for ", outputs.size(), " outputs");
    std::vector<Edge> roots;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& out = outputs[i];
        XGRAD_CHECK(out.defined(), op, ": output ", i, " is undefined");
        XGRAD_CHECK(out.requires_grad(), op, ": output ", i,
                    " does not require grad and has no grad_fn (did you forget requires_grad_(), or run under "
                    "NoGradGuard?)");
        Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
        if (!g.defined()) {
            XGRAD_CHECK(out.numel() == 1, op,
                        ": a gradient can be created implicitly only for one-element outputs, but "
                        "output ",
                        i, " has shape ", out.sizes(), "; pass a gradient");
            g = ones_like(out);
        } else {
            XGRAD_CHECK(g.sizes() == out.sizes(), op, ": the gradient for output ", i, " has shape ", g.sizes(),
                        " but the output has shape ", out.sizes());
            if (g.dtype() != out.dtype()) g = to(g, out.dtype());
        }
        Edge e = gradient_edge(out);
        add_to_buffer(task, e, g);
        roots.push_back(std::move(e));
    }
    return roots;
}

}  // namespace

namespace {
// The callbacks of the backward passes running on this thread, innermost last (a hook may run a
// backward pass of its own).
thread_local std::vector<std::vector<std::function<void()>>*> pass_callbacks;

class CallbackScope {
public:
    CallbackScope() { pass_callbacks.push_back(&callbacks_); }
    ~CallbackScope() { pass_callbacks.pop_back(); }
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
    // Index by index: a callback may queue another one, which runs in this same loop.
    void run() {
        for (std::size_t i = 0; i < callbacks_.size(); ++i) {
            std::function<void()> fn = std::move(callbacks_[i]);
            fn();
        }
        callbacks_.clear();
    }

private:
    std::vector<std::function<void()>> callbacks_;
};
}  // namespace

void queue_callback(std::function<void()> fn) {
    XGRAD_CHECK(!pass_callbacks.empty(), "queue_callback: no backward pass is running on this thread");
    pass_callbacks.back()->push_back(std::move(fn));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
    GraphTask task;
    task.id = new_task_id();
    task.keep_graph = retain_graph || create_graph;
    task.create_graph = create_graph;
    const std::vector<Edge> roots = seed(task, outputs, grad_outputs, "backward");
    count_dependencies(task, roots);
    CallbackScope callbacks;
    execute(task, roots);
    callbacks.run();
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
    GraphTask task;
    task.id = new_task_id();
    task.keep_graph = retain_graph.value_or(create_graph);
    task.create_graph = create_graph;
    task.accumulate = false;
    task.captured.resize(inputs.size());
    std::vector<Edge> input_edges;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        XGRAD_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: input ", i, " does not require grad");
        input_edges.push_back(gradient_edge(inputs[i]));
        task.captures[{input_edges.back().function.get(), input_edges.back().input_nr}].push_back(i);
    }
    const std::vector<Edge> roots = seed(task, outputs, grad_outputs, "grad");
    count_dependencies(task, roots);
    mark_needed(task, roots);
    CallbackScope callbacks;
    execute(task, roots);
    callbacks.run();
    for (std::size_t i = 0; i < inputs.size(); ++i)
        XGRAD_CHECK(allow_unused || task.captured[i].defined(), "grad: input ", i, " (shape ", inputs[i].sizes(),
                    ") was not used to compute the outputs; pass allow_unused=true if that is intended");
    return task.captured;
}

}  // namespace xgrad::autograd
