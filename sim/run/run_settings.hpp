// Every setting of a run besides its inputs (the machine, the workload, the strategy), each with
// its default declared here once. The CLI's flags, sweep plans, Python's keyword arguments and
// the result's "config" block read these declarations; nothing else spells a default.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "allocator/allocator.hpp"

namespace slabsim::sim {

struct RunSettings {
  // The allocator model, as CONFIG_SLUB / CONFIG_SLAB / CONFIG_SLOB choose the kernel's.
  alloc::AllocatorKind allocator = alloc::AllocatorKind::slub;
  // The seed of every random draw; nullopt: the workload's own "seed".
  std::optional<std::uint64_t> seed;
  // Each timed event starts a pseudo-random 0..jitter_ns later, drawn from the seed.
  std::int64_t jitter_ns = 0;
  // Lax synchronisation: a CPU's local work is paid to the engine once it exceeds this, or
  // before the CPU touches shared state.
  std::int64_t quantum_ns = 10'000;
  // The engine's lookahead (Simulation::set_lookahead): the wrapper orders the CPUs itself and
  // SimGrid only switches stacks. The same results either way; off (every wait through
  // SimGrid's clock) only to check exactly that.
  bool lookahead = true;
  // The kernel's slab_nomerge boot parameter (mm/slab_common.c): when set, kmem_cache_create()
  // never merges a cache into an existing compatible one (__kmem_cache_alias()). The kernel
  // merges by default (CONFIG_SLAB_MERGE_DEFAULT=y), and so does the model.
  bool slab_nomerge = false;
  // The width of the time buckets of the metrics over time (time_buckets.hpp); 0: the
  // workload's "time_bucket", or automatic when it has none.
  std::int64_t time_bucket_ns = 0;
};

// An integer setting as the CLI, sweep plans and Python name, describe and bound it.
struct IntSetting {
  std::string_view key;   // sweep plan grid key, Python keyword, result "config" key
  std::string_view flag;  // the CLI option
  std::string_view description;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::int64_t RunSettings::*field = nullptr;

  [[nodiscard]] std::int64_t default_value() const { return RunSettings{}.*field; }
};

inline constexpr IntSetting jitter_setting{
    "jitter_ns",
    "--jitter-ns",
    "Start each timed event a pseudo-random 0..N ns late, drawn from the seed",
    0,
    1'000'000'000,
    &RunSettings::jitter_ns};
inline constexpr IntSetting quantum_setting{
    "quantum_ns",
    "--quantum",
    "Lax-synchronisation quantum in ns: how far a CPU's local work may run ahead",
    1,
    1'000'000,
    &RunSettings::quantum_ns};
inline constexpr IntSetting time_bucket_setting{
    "time_bucket_ns",
    "--time-bucket",
    "Width in ns of the time buckets of the metrics over time; 0: the workload's \"time_bucket\", "
    "else automatic (at least 100 per run and 4 per memory hotplug window)",
    0,
    1'000'000'000'000,
    &RunSettings::time_bucket_ns};

// The locking strategy a run uses when none is named: v5.12's.
inline constexpr std::string_view default_strategy = "slab_nodes_nocpu";

}  // namespace slabsim::sim
