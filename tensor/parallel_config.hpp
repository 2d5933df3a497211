#pragma once
/// How the default thread count is read (internal to tensor/, declared for the tests).

#include <cstdint>
#include <string>

namespace xgrad::detail {

/// A thread count written as text (XGRAD_NUM_THREADS): a whole number in [1, kMaxThreads], or
/// xgrad::Error naming `source` and the text.
int64_t parse_thread_count(const std::string& text, const char* source);

/// The CPU limit set by cgroup quotas, in CPUs (1.5 for "150000 100000"), the smallest found along
/// the process's cgroup path; 0 when there is none. `cgroup_root` is where the cgroup file systems
/// are mounted (/sys/fs/cgroup), `proc_self_cgroup` the text of /proc/self/cgroup. Understands
/// cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us, cpu.cfs_period_us).
double cgroup_cpu_limit(const std::string& cgroup_root, const std::string& proc_self_cgroup);

}  // namespace xgrad::detail
