#include "run/event_player.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "run/model_call.hpp"

namespace slabsim::sim {

namespace {

using workload::Event;

constexpr int enoent = 2;
constexpr int eexist = 17;
constexpr int enodev = 19;

}  // namespace

EventPlayer::EventPlayer(Machine& machine, const workload::Workload& workload, EventQueue& events,
                         WorkloadCaches& caches, QuiescentChecks& checks, MetricsRecorder& recorder,
                         RunProgress& progress, CpuDriver& cpus, HotplugOperations& hotplug,
                         OperationSignals& signals)
    : machine_(machine),
      env_(machine.env()),
      allocator_(machine.allocator()),
      workload_(workload),
      events_(events),
      caches_(caches),
      checks_(checks),
      recorder_(recorder),
      progress_(progress),
      cpus_(cpus),
      hotplug_(hotplug),
      signals_(signals),
      bursts_(workload.caches.size()),
      busy_(machine.event_cpus().size(), 0) {}

void EventPlayer::spawn() {
  const auto& cpus = machine_.event_cpus();
  for (std::size_t k = 0; k < cpus.size(); ++k) {
    const int cpu = cpus[k];
    machine_.spawn(cpu, fmt::format("events{}", k), [this] { play_all(); });
  }
}

// An event task: plays the next due event, whoever's turn it is, on the lowest event CPU free,
// then waits for the next one.
void EventPlayer::play_all() {
  for (;;) {
    checks_.run_if_quiescent();
    // The queue is shared by the event tasks: pay the local time first, so that the task that
    // takes an event due at T is the one the engine runs first at T, with or without lookahead.
    env_.flush();
    if (events_.empty()) break;
    if (events_.next_at() > env_.local_now()) {
      env_.flush();
      env_.sleep_until(events_.next_at());
      continue;
    }
    const Event& e = events_.take();
    // The event plays on the lowest event CPU free now, whichever task took it: which of the
    // tasks due at one instant the engine runs first differs with and without lookahead, the
    // CPUs in use at that instant do not.
    const auto slot =
        static_cast<std::size_t>(std::find(busy_.begin(), busy_.end(), 0) - busy_.begin());
    busy_[slot] = 1;
    const int play_cpu = machine_.event_cpus()[slot];
    EventRecord r;
    {
      const MachineEnvironment::RunningAs as(env_, play_cpu);
      {
        const ModelCall call(checks_);
        r = play(play_cpu, e);
      }
      env_.flush();  // the event CPU's time is paid before it is given back
    }
    busy_[slot] = 0;
    checks_.request("after " + r.type);
  }
  env_.flush();
  checks_.run_if_quiescent();
}

EventRecord EventPlayer::play(int cpu, const Event& e) {
  progress_.step();
  EventRecord r;
  r.start_ns = env_.local_now();
  std::string name = cache_operation_name(e);
  const bool cache_operation = !name.empty();
  if (cache_operation && signals_.begun.observed())
    signals_.begun({cpu, r.start_ns, std::move(name), "cache"});
  std::vector<HotplugRecord> hotplug;
  std::vector<int> placement;
  switch (e.type) {
    case Event::Type::memory_add:
    case Event::Type::memory_online:
    case Event::Type::memory_offline:
    case Event::Type::memory_remove:
    case Event::Type::cpu_online:
    case Event::Type::cpu_offline:
      hotplug = play_hotplug(cpu, e, r);
      break;
    case Event::Type::cache_create:
      r.type = "cache_create";
      r.target = workload_.caches[e.cache].name;
      r.result = create_cache(e);
      break;
    case Event::Type::cache_destroy:
      r.type = "cache_destroy";
      r.target = workload_.caches[e.cache].name;
      r.result = destroy_cache(e);
      break;
    case Event::Type::shrink:
      r.type = "shrink";
      r.target = workload_.caches[e.cache].name;
      r.result = access_sysfs(e, nullptr);
      break;
    case Event::Type::sysfs_read:
      r.type = "sysfs_read";
      r.target = workload_.caches[e.cache].name + "/" + e.file;
      r.result = access_sysfs(e, &r.text);
      break;
    case Event::Type::inject_error:
    case Event::Type::clear_error:
      r.type = e.type == Event::Type::inject_error ? "inject_error" : "clear_error";
      r.target = e.action;
      set_error_injection(e);
      if (signals_.error_injection.observed())
        signals_.error_injection({cpu, r.start_ns, r.type + " " + r.target, e.error});
      break;
    case Event::Type::alloc_burst:
      r.type = "alloc_burst";
      r.target = fmt::format("{} node {} cpu {} count {}", workload_.caches[e.cache].name, e.node,
                             e.cpu, e.count);
      r.result = alloc_burst(e, placement);
      break;
    case Event::Type::free_burst:
      r.type = "free_burst";
      r.target = fmt::format("{} cpu {} count {}", workload_.caches[e.cache].name, e.cpu, e.count);
      r.result = free_burst(e);
      break;
    case Event::Type::page_burst:
      r.type = "page_burst";
      r.target = fmt::format("node {} cpu {} order {} count {}", e.node, e.cpu, e.order, e.count);
      r.result = page_burst(e, placement);
      break;
    case Event::Type::page_free:
      r.type = "page_free";
      r.result = page_free(cpu);
      break;
  }
  r.duration_ns = env_.local_now() - r.start_ns;
  if (cache_operation) signals_.ended({cpu, r.start_ns + r.duration_ns, r.result});
  recorder_.event(r);
  if (signals_.event_played.observed()) signals_.event_played({cpu, e, r, hotplug, placement});
  return r;
}

std::vector<HotplugRecord> EventPlayer::play_hotplug(int cpu, const Event& e, EventRecord& r) {
  if (e.type == Event::Type::cpu_online || e.type == Event::Type::cpu_offline) {
    const bool online = e.type == Event::Type::cpu_online;
    hotplug_.cpu(cpu, e, online);
    r.type = hotplug_type_name(online ? HotplugType::cpu_online : HotplugType::cpu_offline);
    r.target = fmt::format("cpu {}", e.cpu);
    return {};
  }
  const HotplugType type = e.type == Event::Type::memory_add      ? HotplugType::memory_add
                           : e.type == Event::Type::memory_online ? HotplugType::memory_online
                           : e.type == Event::Type::memory_remove ? HotplugType::memory_remove
                                                                  : HotplugType::memory_offline;
  r.type = hotplug_type_name(type);
  r.target = fmt::format("node {}", e.node);
  return hotplug_.memory(cpu, e, type);
}

std::string EventPlayer::cache_operation_name(const Event& e) const {
  switch (e.type) {
    case Event::Type::cache_create:
      return "cache_create " + workload_.caches[e.cache].name;
    case Event::Type::cache_destroy:
      return "cache_destroy " + workload_.caches[e.cache].name;
    case Event::Type::shrink:
      return "shrink " + workload_.caches[e.cache].name;
    case Event::Type::sysfs_read:
      return "sysfs_read " + workload_.caches[e.cache].name + "/" + e.file;
    default:
      return {};
  }
}

int EventPlayer::create_cache(const Event& e) {
  // EEXIST: the workload's cache exists (or is being destroyed).
  if (caches_.current_struct(e.cache) || caches_.destroying(e.cache)) return -eexist;
  const auto& c = workload_.caches[e.cache];
  alloc::Cache* s = allocator_.kmem_cache_create(c.name, c.object_size, c.align, c.flags);
  caches_.created(e.cache, s, allocator_);
  return s ? 0 : -alloc::enomem;
}

int EventPlayer::destroy_cache(const Event& e) {
  if (!caches_.current_struct(e.cache)) return -enoent;
  alloc::Cache* s = caches_.begin_destroy(e.cache);
  while (caches_.in_flight(e.cache) > 0) {  // operations already inside the cache finish first
    env_.flush();
    env_.sleep_for(Machine::poll_ns);
  }
  const int result = allocator_.kmem_cache_destroy(s);
  caches_.end_destroy(e.cache, s, result);
  // kmem_cache_destroy() returns nothing: the event succeeded unless it failed (-EBUSY); a
  // reference left behind (a merged cache's other names) is no error.
  return std::min(result, 0);
}

// The kernel-check probe's "alloc" command: work_on_cpu(cpu) running kmem_cache_alloc_node()
// `count` times. -ENOENT when the cache does not exist, -ENOMEM when an allocation failed (the
// burst stops there, as the probe's does).
int EventPlayer::alloc_burst(const Event& e, std::vector<int>& placement) {
  alloc::Cache* s = caches_.current_struct(e.cache);
  if (!s) return -enoent;
  int result = 0;
  const int cpu_node = machine_.topology().node_of_cpu(e.cpu);
  const ModelCall call(checks_, caches_, e.cache);
  env_.run_on_cpu(e.cpu, [&] {
    for (int k = 0; k < e.count; ++k) {
      const std::uint64_t fallbacks = e.node >= 0 ? s->fallback_to_no_node[e.node] : 0;
      const alloc::ObjectRef o = allocator_.kmem_cache_alloc_node(s, alloc::gfp_kernel, e.node);
      if (e.node >= 0 && s->fallback_to_no_node[e.node] != fallbacks)
        recorder_.fell_back(env_.local_now());
      if (!o) {
        recorder_.failed(e.cache);
        placement.push_back(-1);
        result = -alloc::enomem;
        return;
      }
      recorder_.allocated(e.cache, cpu_node, o.node, 0, env_.local_now());
      placement.push_back(o.node);
      bursts_.keep(e.cache, o);
    }
  });
  return result;
}

// The probe's "free" command: kmem_cache_free() of the oldest kept objects, on the event's CPU.
int EventPlayer::free_burst(const Event& e) {
  alloc::Cache* s = caches_.current_struct(e.cache);
  if (!s) return -enoent;
  const auto objects = bursts_.take_oldest(e.cache, static_cast<std::size_t>(e.count));
  const ModelCall call(checks_, caches_, e.cache);
  env_.run_on_cpu(e.cpu, [&] {
    for (const auto& o : objects) {
      allocator_.kmem_cache_free(s, o);
      recorder_.freed(e.cache);
    }
  });
  return 0;
}

// The probe's "pages" command: alloc_pages_node(node, GFP_KERNEL, order) `count` times on the
// event's CPU (numastat counts each call against that CPU's node, zone_statistics()); -ENOMEM
// when one fails (the burst stops there). With "movable", user pages (GFP_HIGHUSER_MOVABLE),
// which only the model makes: the probe's pages are kernel pages.
int EventPlayer::page_burst(const Event& e, std::vector<int>& placement) {
  const int cpu_node = machine_.topology().node_of_cpu(e.cpu);
  const int preferred = e.node >= 0 ? e.node : cpu_node;
  const ModelCall call(checks_);
  for (int k = 0; k < e.count; ++k) {
    const alloc::Gfp gfp = e.movable.value_or(false) ? alloc::gfp_movable : alloc::gfp_kernel;
    const auto p =
        machine_.pages().alloc_pages(preferred, static_cast<unsigned>(e.order), gfp, e.cpu);
    if (!p) {
      placement.push_back(-1);
      return -alloc::enomem;
    }
    placement.push_back(p->node);
    bursts_.keep_pages(*p);
  }
  return 0;
}

int EventPlayer::page_free(int cpu) {
  const ModelCall call(checks_);
  for (const auto& p : bursts_.take_pages())
    if (machine_.pages().allocated(p)) machine_.pages().free_pages(p, cpu);  // else migrated away
  return 0;
}

// A shrink (a write of "1" to the cache's shrink file) or a read of one of its sysfs files,
// whose text goes to `text`.
int EventPlayer::access_sysfs(const Event& e, std::optional<std::string>* text) {
  const bool write = e.type == Event::Type::shrink;
  // The sysfs directory lives until kmem_cache_destroy() removes it, so a cache being destroyed
  // is still reachable here (that is how the RFC 1/3 ABBA happens), and in v6.1 a
  // SLAB_TYPESAFE_BY_RCU cache stays reachable until its release work has run.
  alloc::Cache* s = caches_.reachable_through_sysfs(e.cache, allocator_.sysfs());
  // ENOENT: no such cache; no /sys/kernel/slab (SLAB, SLOB); or, for an in-kernel caller, a
  // cache it is destroying.
  if (!s || (!allocator_.sysfs() && (!write || caches_.destroying(e.cache)))) return -enoent;
  if (!allocator_.sysfs()) {
    // Without /sys/kernel/slab the shrink comes from inside the kernel (a driver's shrinker, as
    // acpi_os_purge_cache() does): kmem_cache_shrink() with no kernfs reference around it, by a
    // caller that never destroys the cache meanwhile (the destroy waits for it as for the
    // cache's allocations and frees).
    const ModelCall call(checks_, caches_, e.cache);
    allocator_.kmem_cache_shrink(s);
    return 0;
  }
  // kernfs_fop_write()/kernfs_fop_read(): the file's active reference around the store or show
  // method (lockdep: a read acquisition of the attribute's kn->active class).
  const auto active = allocator_.sysfs()->active_ref_class(write ? "shrink" : e.file);
  if (!active) return -enoent;  // no such file in this kernel's cache directories
  if (!env_.kernfs_get_active(*active, s->id, write ? "kernfs_fop_write" : "kernfs_fop_read"))
    return -enodev;  // the directory is being removed
  if (write)
    allocator_.kmem_cache_shrink(s);
  else
    *text = show_sysfs_file(*s, e.file);
  env_.kernfs_put_active(*active, s->id);
  return 0;
}

// A read of a cache's sysfs file (slab_attr_show()): its text, and its cost paid (sprintf of the
// page).
std::optional<std::string> EventPlayer::show_sysfs_file(alloc::Cache& s, const std::string& file) {
  auto text = allocator_.sysfs()->slab_attr_show(&s, file, cpus_.online_cpus());
  env_.charge(100 + static_cast<std::int64_t>(text ? text->size() : 0));
  return text;
}

void EventPlayer::set_error_injection(const Event& e) {
  const auto action = e.action == "going_offline" ? alloc::MemoryAction::going_offline
                                                  : alloc::MemoryAction::going_online;
  if (e.type == Event::Type::inject_error)
    machine_.error_inject().inject(action, e.error);
  else
    machine_.error_inject().clear(action);
}

}  // namespace slabsim::sim
