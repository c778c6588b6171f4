#include "run/findings.hpp"

#include <algorithm>
#include <set>

namespace slabsim::sim {

std::string lockdep_cycle_name(const LockdepReport& r) {
  if (r.cycle.empty()) return "?";
  if (r.kind == LockdepReport::Kind::recursive)
    return "recursive " + std::string(alloc::lock_class_name(r.cycle.front().from));
  // The classes in dependency order: cycle[0] is held -> acquiring, then the path back.
  std::vector<std::string> names;
  for (const auto& e : r.cycle)
    names.emplace_back(alloc::lock_class_name(e.from));
  std::rotate(names.begin(), std::min_element(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : " -> ") + n;
  return out;
}

std::vector<std::string> run_findings(const RunMetrics& m) {
  std::set<std::string> out;
  for (const auto& v : m.violations)
    out.insert(alloc::violation_kind_name(v.kind));
  if (m.deadlock) out.insert("deadlock");
  for (const auto& c : m.lockdep_cycles)
    out.insert("lockdep " + c);
  std::int64_t last_online_end = -1;
  for (const auto& h : m.hotplug) {
    if (h.node_structs_freed) out.insert("nodes-freed");
    if (h.node_structs_reused) out.insert("nodes-reused");
    // SLUB only: SLAB keeps a node's structs (and falls back) once its memory is gone.
    if (m.allocator == alloc::AllocatorKind::slub)
      for (int n : h.usable_nodes_after)
        if (std::find(h.normal_nodes_after.begin(), h.normal_nodes_after.end(), n) ==
            h.normal_nodes_after.end())
          out.insert("usable-node-without-memory");
    if (h.type != HotplugType::memory_online) continue;
    if (h.result != 0) out.insert("online-failed");
    last_online_end = std::max(last_online_end, h.start_ns + h.duration_ns);
  }
  if (last_online_end >= 0)
    for (const auto& b : m.buckets)
      if (b.start_ns >= last_online_end && b.fallbacks > 0) out.insert("fallbacks-after-online");
  return {out.begin(), out.end()};
}

bool is_failure(const std::string& finding) {
  return finding == "missing-node" || finding == "use-after-free" || finding == "violation" ||
         finding == "deadlock";
}

}  // namespace slabsim::sim
