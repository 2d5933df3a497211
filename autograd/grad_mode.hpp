#pragma once
/// Thread-local switches: gradient recording (NoGradGuard) and anomaly detection.

namespace xgrad {

struct GradMode {
    static bool is_enabled();
    static void set_enabled(bool enabled);
};

/// Stops graph recording in its scope (inference, optimizer updates), restoring on exit.
class NoGradGuard {
public:
    NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
    ~NoGradGuard() { GradMode::set_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// Turns recording on or off in its scope (AutoGradMode in LibTorch).
class AutoGradMode {
public:
    explicit AutoGradMode(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
    ~AutoGradMode() { GradMode::set_enabled(previous_); }
    AutoGradMode(const AutoGradMode&) = delete;
    AutoGradMode& operator=(const AutoGradMode&) = delete;

private:
    bool previous_;
};

/// LibTorch's guard for inference: here the same as NoGradGuard (no graph is recorded). Tensors
/// made under it are ordinary tensors that do not require grad, usable anywhere afterwards.
class InferenceMode {
public:
    explicit InferenceMode(bool enabled = true) : guard_(!enabled) {}

private:
    AutoGradMode guard_;
};

struct AnomalyMode {
    static bool is_enabled();
    static void set_enabled(bool enabled);
};

/// While alive, a backward formula that produces NaN or Inf throws an error naming its op.
class DetectAnomalyGuard {
public:
    DetectAnomalyGuard() : previous_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
    ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

}  // namespace xgrad
