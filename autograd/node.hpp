#pragma once
/// The graph: nodes that turn the gradients of their outputs into gradients of their inputs.
///
/// A Node has one Edge per input, pointing to the node that produced that input (or, for a leaf
/// that requires grad, to its AccumulateGrad node). Ops build nodes through make_op(); users can
/// write their own with autograd::Function (function.hpp).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad {

using Grads = std::vector<Tensor>;

struct Edge {
    std::shared_ptr<Node> function;
    uint32_t input_nr = 0;  ///< which output of `function` this edge feeds
    bool valid() const { return function != nullptr; }
};

/// Shape and dtype of a tensor, kept so gradients can be reduced and cast to match it.
struct TensorMeta {
    Shape sizes;
    DType dtype = kFloat32;
};

/// Whether a gradient of shape `grad` can be summed down to `meta` (meta broadcasts to it).
bool sums_down_to(const Shape& grad, const Shape& meta);
/// A hook's replacement for a gradient described by meta, checked: a hook may change the values,
/// not the shape or the dtype (PyTorch: "hook has changed the size of value").
const Tensor& checked_hook_result(const Tensor& replaced, const TensorMeta& meta);

class Node : public std::enable_shared_from_this<Node> {
public:
    /// Releases the nodes behind next_edges without recursion (see node.cpp): dropping the
    /// output of a 100,000-step chain must not overflow the stack.
    virtual ~Node();
    virtual const char* name() const = 0;
    /// Gradients of the outputs in, gradients of the inputs out (undefined = zero / not needed).
    virtual Grads apply(Grads&& grad_outputs) = 0;
    /// Frees saved tensors after a backward pass without retain_graph.
    virtual void release_saved() {}
    /// Throws if backward can no longer run (saved tensors freed, a viewed tensor changed in
    /// place). apply() checks this itself; the engine calls it when it bypasses apply().
    virtual void check_before_backward() const {}

    /// For views that pick a region of their input (select, narrow, slice): where the output sits
    /// in the input. The gradient of such a view is its input's gradient with the view's gradient
    /// in that region and zeros elsewhere; the engine adds it into that region of one buffer
    /// (outside create_graph) instead of building a zero tensor the size of the input per use,
    /// so reading T steps of a tensor costs O(T) in backward, not O(T^2).
    struct Region {
        int64_t dim = 0, start = 0, end = 0, step = 1;
        bool dim_removed = false;  ///< select: the output lacks `dim`
    };
    std::optional<Region> region;

    /// One edge per input; an invalid edge means that input needs no gradient.
    std::vector<Edge> next_edges;
    /// Shapes and dtypes of the inputs: the engine sums and casts each gradient to match.
    std::vector<TensorMeta> input_meta;
    /// Shapes and dtypes of the outputs: a missing output gradient becomes zeros of this shape.
    std::vector<TensorMeta> output_meta;
    /// Hooks on the gradient of each output (tensor hooks of non-leaf tensors, retain_grad).
    std::vector<std::vector<std::pair<int, Tensor::Hook>>> output_hooks;

    bool needs_input_grad(std::size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

    /// Bookkeeping of the backward pass that is visiting this node (engine.cpp only): kept in
    /// the node rather than in hash maps keyed by node, which cost more than a small op itself.
    struct EngineState {
        uint64_t task = 0;        ///< the backward pass these fields belong to
        uint64_t visited = 0;     ///< the last pass whose dependency count reached this node
        int dependencies = 0;     ///< gradients still to arrive from nodes that use this one
        Grads buffer;             ///< gradients arrived so far, one slot per output
        std::vector<bool> owned;  ///< buffer slots the engine allocated itself (safe to add into in place)
    };
    EngineState engine_state;
};

/// A tensor kept for backward, without a strong link back to the node that saved it, and with the
/// version it had, so that a later in-place change is caught instead of giving a wrong gradient.
class SavedTensor {
public:
    SavedTensor() = default;
    /// is_output: the tensor is an output of the saving node (stored without its grad_fn).
    SavedTensor(const Tensor& tensor, bool is_output);
    /// The tensor as saved, re-linked to `owner` when it was an output. Throws if it was modified
    /// in place since, naming op.
    Tensor unpack(const std::shared_ptr<Node>& owner, const char* op) const;
    bool defined() const { return data_.defined(); }
    void reset();

private:
    NDArray data_;
    uint64_t version_ = 0;
    bool is_output_ = false;
    bool requires_grad_ = false;
    uint32_t output_nr_ = 0;
    Tensor tensor_;  // inputs keep their own handle (grad_fn, leaf identity)
};

/// What a backward formula sees: the saved inputs and output, and which inputs need gradients.
struct BackwardContext {
    const std::vector<Tensor>& inputs;  ///< saved inputs (undefined when the op saved none)
    const Tensor& output;               ///< saved output (undefined when not saved)
    const std::vector<TensorMeta>& input_meta;
    const Node& node;
    bool needs(std::size_t i) const { return node.needs_input_grad(i); }
    const Shape& input_sizes(std::size_t i) const { return input_meta[i].sizes; }
};

using BackwardFn = std::function<Grads(const Tensor& grad, const BackwardContext& ctx)>;

/// Which tensors an op keeps for its backward formula.
enum class Saves : uint8_t { nothing = 0, inputs = 1, output = 2, inputs_and_output = 3 };

/// Which inputs an op saves, by position, when it saves inputs: all of them by default, or those
/// marked true in a list (inputs past its end are not saved). An op saves only what its formula
/// needs for the inputs that need gradients, so that an in-place change to an input nobody needs
/// is no error: mul saves b only for a's gradient, `{b.requires_grad(), a.requires_grad()}`.
class SavedInputs {
public:
    SavedInputs() = default;
    SavedInputs(std::initializer_list<bool> which);  // NOLINT: implicit, for `.save_inputs = {...}`
    bool includes(std::size_t input) const { return input < 32 && (mask_ >> input & 1u); }

private:
    uint32_t mask_ = ~0u;
};

/// How make_op records an op, by name at the call site:
///     make_op("mul", {a, b}, result, backward,
///             {.saves = Saves::inputs, .save_inputs = {b.requires_grad(), a.requires_grad()}});
struct OpSpec {
    Saves saves = Saves::nothing;
    /// The result is a view of the first input: it remembers the tensor it views, so that
    /// in-place writes through it, or into that tensor, keep both histories right (view_rebase.hpp).
    bool is_view = false;
    SavedInputs save_inputs = {};
};

/// Wraps a kernel result as the output of op `name`. When recording and an input requires grad,
/// attaches a node whose apply() runs `backward` (written with differentiable ops, so that
/// create_graph gives higher derivatives), keeping what `spec` says.
Tensor make_op(const char* name, std::initializer_list<Tensor> inputs, NDArray result, BackwardFn backward,
               OpSpec spec = {});
Tensor make_op(const char* name, const std::vector<Tensor>& inputs, NDArray result, BackwardFn backward,
               OpSpec spec = {});

/// The edge a gradient for `tensor` should flow into (its grad_fn, or its AccumulateGrad node).
Edge gradient_edge(const Tensor& tensor);

/// Live Node objects (for leak tests: a freed graph brings this back down).
int64_t live_node_count();

namespace detail {
/// Counts construction and destruction for live_node_count().
struct NodeCounter {
    NodeCounter();
    ~NodeCounter();
    NodeCounter(const NodeCounter&) = delete;
    NodeCounter& operator=(const NodeCounter&) = delete;
};
}  // namespace detail

}  // namespace xgrad
