#include "check/model_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "allocator/allocator.hpp"
#include "check/guest_subset.hpp"
#include "check/sysfs_view.hpp"
#include "config/json_pointer.hpp"
#include "run/runner.hpp"
#include "run/simulation_run.hpp"
#include "topology/qemu_command_line.hpp"
#include "topology/topology_json.hpp"

namespace slabsim::check {

namespace {

using nlohmann::ordered_json;
using workload::Event;

// The probe's "create" FLAGS argument.
std::string probe_flags(const alloc::CacheFlags& f) {
  std::vector<std::string> names;
  if (f.hwcache_align) names.emplace_back("hwcache_align");
  if (f.reclaim_account) names.emplace_back("reclaim_account");
  if (f.typesafe_by_rcu) names.emplace_back("typesafe_by_rcu");
  if (f.red_zone) names.emplace_back("red_zone");
  if (f.poison) names.emplace_back("poison");
  if (f.store_user) names.emplace_back("store_user");
  return names.empty() ? "0" : fmt::format("{}", fmt::join(names, ","));
}

// Watches a run's events and writes down, after each, what the guest would show.
class ModelObserver {
 public:
  ModelObserver(sim::SimulationRun& run, const workload::Workload& w,
                const topology::QemuMachine& m)
      : machine_(run.machine()),
        w_(w),
        m_(m),
        view_(run.machine(), guest_block_ids(m, run.machine().layout().blocks.size())),
        guest_of_(guest_block_ids(m, run.machine().layout().blocks.size())),
        kept_(w.caches.size(), 0) {
    // Before the run, as the boot caches were made: outside the engine (sysfs reads take locks).
    machine_.env().set_outside_engine(true, 0);
    ordered_json dump = ordered_json::object();
    dump["nodes"] = view_.nodes();
    dump["blocks"] = view_.blocks();
    for (const std::string& name : {std::string("kmem_cache"), std::string("kmem_cache_node")})
      dump["slab:" + name] = view_.slab(name);
    for (const auto& c : w.caches)
      if (c.at_boot) dump["slab:" + c.name] = view_.slab(c.name);
    machine_.env().set_outside_engine(false);
    initial_ = {{"dump", dump}, {"kernel_log", new_log_lines()}};
    remember_presence();
    remember_numastat();
    run.operation_signals().event_played.connect(
        [this](const sim::EventPlayed& e) { on_event(e); });
  }

  [[nodiscard]] const ordered_json& initial() const { return initial_; }
  [[nodiscard]] const ordered_json& events() const { return events_; }
  [[nodiscard]] const std::vector<config::Diagnostic>& problems() const { return problems_; }

 private:
  void on_event(const sim::EventPlayed& played) {
    const Event& e = played.event;
    ordered_json j;
    j["index"] = events_.size();
    j["source"] = e.source;
    j["occurrence"] = e.occurrence;
    j["type"] = played.record.type;
    j["at_ns"] = played.record.start_ns;
    j["end_ns"] = played.record.start_ns + played.record.duration_ns;
    j["rc"] = played.record.result;
    ordered_json dump = ordered_json::object();
    switch (e.type) {
      case Event::Type::memory_add:
      case Event::Type::memory_online:
      case Event::Type::memory_offline:
      case Event::Type::memory_remove:
        memory_event(played, j);
        dump["nodes"] = view_.nodes();
        dump["blocks"] = view_.blocks();
        dump["slab:kmem_cache_node"] = view_.slab("kmem_cache_node");
        break;
      case Event::Type::page_burst:
      case Event::Type::page_free:
        page_event(played, j);
        dump["nodes"] = view_.nodes();
        break;
      default:
        cache_event(played, j);
        dump["slab:" + w_.caches[e.cache].name] = view_.slab(w_.caches[e.cache].name);
        break;
    }
    j["dump"] = dump;
    j["kernel_log"] = new_log_lines();
    events_.push_back(std::move(j));
    remember_presence();
    remember_numastat();
  }

  // The probe's "pages": where each allocation landed, and what numastat counted meanwhile.
  void page_event(const sim::EventPlayed& played, ordered_json& j) {
    const Event& e = played.event;
    if (e.type == Event::Type::page_free) {
      j["freed"] = std::exchange(pages_kept_, 0);
    } else {
      j["node"] = e.node;
      j["cpu"] = e.cpu;
      j["order"] = e.order;
      j["count"] = e.count;
      std::map<int, int> per_node;
      for (int n : played.placement)
        if (n >= 0) ++per_node[n];
      ordered_json pn = ordered_json::object();
      int allocated = 0;
      for (const auto& [n, count] : per_node) {
        pn[std::to_string(n)] = count;
        allocated += count;
      }
      pages_kept_ += allocated;
      j["allocated"] = allocated;
      j["per_node"] = pn;
    }
    ordered_json delta = ordered_json::object();
    for (std::size_t n = 0; n < numastat_.size(); ++n) {
      const auto& now = machine_.pages().numastat(static_cast<int>(n));
      const auto& was = numastat_[n];
      delta[std::to_string(n)] = {{"numa_hit", now.numa_hit - was.numa_hit},
                                  {"numa_miss", now.numa_miss - was.numa_miss},
                                  {"numa_foreign", now.numa_foreign - was.numa_foreign},
                                  {"interleave_hit", now.interleave_hit - was.interleave_hit},
                                  {"local_node", now.local_node - was.local_node},
                                  {"other_node", now.other_node - was.other_node}};
    }
    j["numastat_delta"] = delta;
  }

  void remember_numastat() {
    numastat_.clear();
    for (int n = 0; n < machine_.topology().node_count(); ++n)
      numastat_.push_back(machine_.pages().numastat(n));
  }

  void memory_event(const sim::EventPlayed& played, ordered_json& j) {
    const Event& e = played.event;
    j["node"] = e.node;
    ordered_json blocks = ordered_json::array();
    std::set<int> touched;
    for (const auto& h : played.hotplug) {
      blocks.push_back({{"block", guest_of_[h.block]}, {"model_block", h.block}, {"rc", h.result}});
      touched.insert(h.block);
      if (!dimm_block(h.block))
        problem(e, event_key(e),
                fmt::format("expected blocks of hot-pluggable DIMMs only, got block {} of node "
                            "{}'s boot memory (the guest's boot memory holds its own kernel's "
                            "allocations, the model's does not; a node's boot blocks come first "
                            "in block-id order, so offline only nodes whose memory is all "
                            "DIMMs)",
                            h.block, e.node));
      if (e.type == Event::Type::memory_online && !present_[h.block])
        problem(e, "memory_online",
                fmt::format("expected blocks hot-added before (memory_add): the guest hot-adds "
                            "whole DIMMs, and block {} was absent",
                            h.block));
    }
    j["blocks"] = blocks;
    if (e.type == Event::Type::memory_online) {
      const bool movable = e.movable ? *e.movable
                                     : !played.hotplug.empty() &&
                                           machine_.layout().blocks[played.hotplug[0].block].zone ==
                                               alloc::ZoneType::movable;
      j["as"] = movable ? "online_movable" : "online_kernel";
    }
    if (e.type == Event::Type::memory_remove)
      for (int b : touched)
        if (online_[b])
          problem(e, "memory_remove",
                  fmt::format("expected DIMMs whose blocks are all offline, got block {} "
                              "online (the guest's ACPI eject would offline it first, "
                              "acpi_scan_try_to_offline(), which the model does not do)",
                              b));
    if (e.type != Event::Type::memory_add && e.type != Event::Type::memory_remove) return;
    // The DIMMs this hot-add (or removal) plugs: every block of each, and nothing else.
    ordered_json dimms = ordered_json::array();
    std::set<int> covered;
    for (const auto& d : m_.hotplug_dimms) {
      const bool any = std::any_of(d.model_blocks.begin(), d.model_blocks.end(),
                                   [&](int b) { return touched.count(b) > 0; });
      if (!any) continue;
      dimms.push_back(d.id);
      covered.insert(d.model_blocks.begin(), d.model_blocks.end());
    }
    if (covered != touched)
      problem(e, event_key(e),
              fmt::format("expected blocks that make whole DIMMs (the guest hot-plugs one "
                          "pc-dimm at a time; this machine's are {}), got {} block{}",
                          dimm_list(), touched.size(), touched.size() == 1 ? "" : "s"));
    j["dimms"] = dimms;
  }

  void cache_event(const sim::EventPlayed& played, ordered_json& j) {
    const Event& e = played.event;
    const auto& c = w_.caches[e.cache];
    j["cache"] = c.name;
    switch (e.type) {
      case Event::Type::cache_create:
        j["object_size"] = c.object_size;
        j["align"] = c.align;
        j["flags"] = probe_flags(c.flags);
        break;
      case Event::Type::sysfs_read:
        j["file"] = e.file;
        break;
      case Event::Type::alloc_burst: {
        j["node"] = e.node;
        j["cpu"] = e.cpu;
        j["count"] = e.count;
        std::map<int, int> per_node;
        ordered_json runs = ordered_json::array();
        for (int n : played.placement) {
          if (n < 0) continue;
          ++per_node[n];
          ++kept_[e.cache];
          if (!runs.empty() && runs.back()[0] == n)
            runs.back()[1] = runs.back()[1].get<int>() + 1;
          else
            runs.push_back({n, 1});
        }
        ordered_json pn = ordered_json::object();
        for (const auto& [n, count] : per_node)
          pn[std::to_string(n)] = count;
        j["allocated"] = std::count_if(played.placement.begin(), played.placement.end(),
                                       [](int n) { return n >= 0; });
        j["per_node"] = pn;
        j["runs"] = runs;
        break;
      }
      case Event::Type::free_burst: {
        const long n = e.count == 0 ? kept_[e.cache] : std::min<long>(e.count, kept_[e.cache]);
        kept_[e.cache] -= n;
        j["cpu"] = e.cpu;
        j["count"] = n;
        break;
      }
      default:
        break;
    }
  }

  [[nodiscard]] bool dimm_block(int block) const {
    for (const auto& d : m_.hotplug_dimms)
      if (std::find(d.model_blocks.begin(), d.model_blocks.end(), block) != d.model_blocks.end())
        return true;
    return false;
  }

  static const char* event_key(const Event& e) {
    return e.type == Event::Type::memory_add      ? "memory_add"
           : e.type == Event::Type::memory_online ? "memory_online"
           : e.type == Event::Type::memory_remove ? "memory_remove"
                                                  : "memory_offline";
  }

  std::string dimm_list() const {
    std::vector<std::string> parts;
    for (const auto& d : m_.hotplug_dimms)
      parts.push_back(fmt::format("{} = node {} blocks {}-{}", d.id, d.node, d.model_blocks.front(),
                                  d.model_blocks.back()));
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  void problem(const Event& e, const char* key, std::string message) {
    problems_.push_back({"",
                         config::pointer_append(config::pointer_append(e.source, key), "blocks"),
                         std::move(message)});
  }

  void remember_presence() {
    const auto& blocks = machine_.layout().blocks;
    present_.assign(blocks.size(), false);
    online_.assign(blocks.size(), false);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const auto state = machine_.pages().block_state(static_cast<int>(b));
      present_[b] = state != alloc::BlockPresence::absent;
      online_[b] = state == alloc::BlockPresence::online;
    }
  }

  // The lines slab_common and memory hotplug logged since the last call.
  ordered_json new_log_lines() {
    ordered_json out = ordered_json::array();
    const auto& slab = machine_.allocator().state().kernel_log();
    const auto& hotplug = machine_.hotplug().log();
    for (std::size_t i = slab_log_seen_; i < slab.size(); ++i)
      out.push_back(slab[i]);
    for (std::size_t i = hotplug_log_seen_; i < hotplug.size(); ++i)
      out.push_back(hotplug[i]);
    slab_log_seen_ = slab.size();
    hotplug_log_seen_ = hotplug.size();
    return out;
  }

  sim::Machine& machine_;
  const workload::Workload& w_;
  const topology::QemuMachine& m_;
  SysfsView view_;
  std::vector<int> guest_of_;
  std::vector<long> kept_;
  std::vector<bool> present_, online_;     // after the last event
  std::vector<alloc::NumaStat> numastat_;  // after the last event
  long pages_kept_ = 0;
  std::size_t slab_log_seen_ = 0, hotplug_log_seen_ = 0;
  ordered_json initial_;
  ordered_json events_ = ordered_json::array();
  std::vector<config::Diagnostic> problems_;
};

}  // namespace

ordered_json kernel_check_model(const sim::PreparedRun& p, const topology::QemuMachine& machine) {
  config::Diagnostics subset(p.workload_document.name);
  check_guest_subset(p.workload, machine, subset);
  subset.throw_if_any();

  sim::RunOptions options;
  options.allocator = p.settings.allocator;
  options.seed = p.seed();
  options.sync_quantum_ns = p.settings.quantum_ns;
  options.lookahead = p.settings.lookahead;
  // The guest boots with slab_nomerge (QemuMachine::kernel_cmdline), so the model must too: a
  // test cache merged into another would be compared against one of its own.
  options.tuning.slab_nomerge =
      p.settings.slab_nomerge ||
      std::ranges::find(machine.kernel_cmdline, "slab_nomerge") != machine.kernel_cmdline.end();
  options.time_bucket_ns = p.time_bucket_ns();
  sim::SimulationRun run(p.machine, p.workload, p.strategy,
                         sim::with_workload_tuning(p.workload, options));
  ModelObserver observer(run, p.workload, machine);
  const sim::RunMetrics metrics = run.play();
  if (!observer.problems().empty()) {
    auto problems = observer.problems();
    for (auto& d : problems)
      d.file = p.workload_document.name;
    throw config::ConfigError(std::move(problems));
  }

  ordered_json doc;
  doc["format"] = "slabsim-kernel-check-model/1";
  doc["workload"] = p.workload.name;
  doc["workload_file"] = p.workload_document.name;
  doc["topology"] = p.machine.name;
  doc["allocator"] = alloc::allocator_name(p.settings.allocator);
  doc["strategy"] = {
      {"name", p.strategy.name}, {"kernel", p.strategy.kernel}, {"commit", p.strategy.commit}};
  doc["seed"] = p.seed();
  doc["machine"] = topology::to_json(machine);
  // The topology as `slabsim topology show --json` resolves it, to compare with what
  // `slabsim topology import` makes of the guest's snapshot.
  doc["topology_resolved"] = topology::to_json(p.machine);
  doc["initial"] = observer.initial();
  doc["events"] = observer.events();
  doc["model_run"] = {{"violations", metrics.violations.size()},
                      {"deadlock", metrics.deadlock.has_value()},
                      {"simulated_ns", metrics.simulated_ns}};
  return doc;
}

}  // namespace slabsim::check
