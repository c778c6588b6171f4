#include "run/run_request.hpp"

#include <fmt/format.h>

#include <chrono>

#include "config/diagnostics.hpp"
#include "run/host_memory.hpp"
#include "run/runner.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::sim {

namespace {

// A JSON text given in place of a file: diagnostics name it "<what dict>".
config::JsonDocument document_of(const InputSpec& input, const char* what) {
  return config::parse_json_document(input.text, std::string("<") + what + " dict>");
}

config::JsonDocument load_workload(const InputSpec& workload) {
  return workload.is_json ? document_of(workload, "workload")
                          : load_workload_document(workload.text);
}

topology::Topology load_machine(const InputSpec& topology, const config::JsonDocument& workload) {
  if (topology.is_json) return topology::load_topology(document_of(topology, "topology"));
  if (!topology.empty()) return topology::load_topology(topology.text);
  const auto own = workload::workload_topology(workload);
  if (!own) {
    config::Diagnostics d(workload.name);
    d.error("",
            "expected a \"topology\" key, or a topology given with the run (-t, or "
            "topology= in Python)");
    d.throw_if_any();
  }
  return topology::load_topology(*own);
}

// A width given with the run (the workload's own was checked with the workload).
void check_time_bucket(std::int64_t width_ns, const workload::Workload& w) {
  if (width_ns <= 0 || w.duration_ns / width_ns <= workload::max_time_buckets) return;
  config::Diagnostics d(std::string(time_bucket_setting.flag));
  d.error("",
          fmt::format("expected a width that cuts the {} ns of workload \"{}\" into at most {} "
                      "buckets (at least {} ns), got {}",
                      w.duration_ns, w.name, workload::max_time_buckets,
                      (w.duration_ns + workload::max_time_buckets - 1) / workload::max_time_buckets,
                      width_ns));
  d.throw_if_any();
}

}  // namespace

alloc::Strategy load_strategy(const InputSpec& strategy) {
  return strategy.is_json ? strategy::load_strategy(document_of(strategy, "strategy"))
                          : strategy::load_strategy(strategy.text);
}

PreparedRun prepare_run(const RunRequest& request) {
  PreparedRun p;
  p.workload_document = load_workload(request.workload);
  p.machine = load_machine(request.topology, p.workload_document);
  p.workload = workload::load_workload(p.workload_document, p.machine);
  p.strategy = load_strategy(request.strategy);
  p.settings = request.settings;
  p.settings.seed = request.settings.seed.value_or(p.workload.seed);
  check_time_bucket(p.settings.time_bucket_ns, p.workload);
  p.trace_path = request.trace_path;
  p.progress = request.progress;
  p.max_memory_bytes = request.max_memory_bytes;
  p.partial_results = request.partial_results;
  return p;
}

RunOutcome run(std::shared_ptr<const PreparedRun> prepared) {
  const PreparedRun& p = *prepared;
  RunOptions options;
  options.allocator = p.settings.allocator;
  options.seed = p.seed();
  options.jitter_ns = p.settings.jitter_ns;
  options.sync_quantum_ns = p.settings.quantum_ns;
  options.lookahead = p.settings.lookahead;
  options.tuning.slab_nomerge = p.settings.slab_nomerge;
  options.time_bucket_ns = p.time_bucket_ns();
  options.trace_path = p.trace_path;
  options.progress = p.progress;
  options.max_memory_bytes = p.max_memory_bytes;
  options.partial_results = p.partial_results;
  check_fits_in_memory(p.machine, p.workload, p.workload_document, p.max_memory_bytes,
                       p.time_bucket_ns());
  const auto start = std::chrono::steady_clock::now();
  RunOutcome out{std::move(prepared), {}, 0};
  out.metrics = run_simulation(p.machine, p.workload, p.strategy, options);
  out.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.peak_resident_bytes = peak_resident_bytes();
  return out;
}

RunOutcome run(const RunRequest& request) {
  return run(std::make_shared<const PreparedRun>(prepare_run(request)));
}

}  // namespace slabsim::sim
