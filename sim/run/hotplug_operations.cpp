#include "run/hotplug_operations.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kernel/jiffies.hpp"

namespace slabsim::sim {

namespace {

using alloc::BlockPresence;
using alloc::LockClass;
using alloc::LockMode;

// restart_syscall(): back to user space and into the write again (a model choice of a few
// microseconds).
constexpr std::int64_t syscall_restart_ns = 2000;
// lock_device_hotplug_sysfs()'s "5 ms of sleep should do".
constexpr std::int64_t device_hotplug_retry_msecs = 5;
constexpr int etimedout = 110;

}  // namespace

HotplugOperations::HotplugOperations(Machine& machine, const workload::Workload& workload,
                                     CpuDriver& cpus, MetricsRecorder& recorder,
                                     OperationSignals& signals)
    : machine_(machine),
      env_(machine.env()),
      allocator_(machine.allocator()),
      workload_(workload),
      cpus_(cpus),
      recorder_(recorder),
      signals_(signals) {}

std::vector<int> HotplugOperations::blocks_for(const workload::Event& e, HotplugType type) const {
  std::vector<int> out;
  for (int b : machine_.topology().nodes[e.node].blocks) {
    const auto state = machine_.pages().block_state(b);
    const bool eligible = type == HotplugType::memory_add      ? state == BlockPresence::absent
                          : type == HotplugType::memory_online ? state != BlockPresence::online
                          : type == HotplugType::memory_remove ? state != BlockPresence::absent
                                                               : state == BlockPresence::online;
    if (eligible) out.push_back(b);
    if (e.blocks > 0 && type != HotplugType::memory_remove &&
        static_cast<int>(out.size()) == e.blocks)
      break;
  }
  // Removal takes the last present blocks (DIMMs go last in, first out).
  if (type == HotplugType::memory_remove && e.blocks > 0 && static_cast<int>(out.size()) > e.blocks)
    out.erase(out.begin(), out.end() - e.blocks);
  // Offline from the highest address down, as hot-remove scripts do.
  if (type == HotplugType::memory_offline) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<HotplugRecord> HotplugOperations::memory(int cpu, const workload::Event& e,
                                                     HotplugType type) {
  if (type == HotplugType::memory_remove) return remove(cpu, e);
  std::vector<HotplugRecord> done;
  for (int block : blocks_for(e, type)) {
    HotplugRecord r;
    r.type = type;
    r.node = e.node;
    r.block = block;
    r.cpu = cpu;
    r.start_ns = env_.local_now();
    if (signals_.begun.observed())
      signals_.begun({cpu, r.start_ns,
                      fmt::format("{} node {} block {}", hotplug_type_name(r.type), e.node, block),
                      "hotplug"});
    // A hot-add comes from the ACPI hotplug work (acpi_device_hotplug()), which takes
    // lock_device_hotplug() and waits; an online or offline is a sysfs write.
    if (type == HotplugType::memory_add) {
      env_.lock(LockClass::device_hotplug_lock, 0, LockMode::exclusive, "acpi_device_hotplug");
    } else {
      lock_device_hotplug_sysfs();
    }
    const auto structs_before = allocator_.state().hotplug_node_structs();
    memory_block(r, e);
    env_.unlock(LockClass::device_hotplug_lock, 0, LockMode::exclusive);
    r.duration_ns = env_.local_now() - r.start_ns;
    signals_.ended({cpu, r.start_ns + r.duration_ns, r.result});
    after_memory_block(r, structs_before);
    recorder_.hotplug(r);
    done.push_back(r);
  }
  return done;
}

// acpi_memory_device_remove() -> __remove_memory() of the event's blocks as one range, under
// lock_device_hotplug() (the ACPI hotplug work); one record per block, with the range's result.
std::vector<HotplugRecord> HotplugOperations::remove(int cpu, const workload::Event& e) {
  const std::vector<int> blocks = blocks_for(e, HotplugType::memory_remove);
  if (blocks.empty()) return {};
  const std::int64_t start = env_.local_now();
  if (signals_.begun.observed())
    signals_.begun(
        {cpu, start,
         fmt::format("memory_remove node {} blocks {}-{}", e.node, blocks.front(), blocks.back()),
         "hotplug"});
  env_.lock(LockClass::device_hotplug_lock, 0, LockMode::exclusive, "acpi_device_hotplug");
  alloc::MemoryHotplug& hotplug = machine_.hotplug();
  std::int64_t locked_at = -1;
  std::vector<HotplugStepMark> steps;
  hotplug.on_step = [&](alloc::HotplugStep step) {
    if (step == alloc::HotplugStep::locked && locked_at < 0) locked_at = env_.local_now();
    steps.push_back({step, env_.local_now()});
    signals_.hotplug_step({cpu, step, env_.local_now()});
  };
  const auto structs_before = allocator_.state().hotplug_node_structs();
  const int result = hotplug.remove_memory(blocks);
  hotplug.on_step = nullptr;
  env_.unlock(LockClass::device_hotplug_lock, 0, LockMode::exclusive);
  const std::int64_t duration = env_.local_now() - start;
  signals_.ended({cpu, start + duration, result});
  std::vector<HotplugRecord> done;
  for (int block : blocks) {
    HotplugRecord r;
    r.type = HotplugType::memory_remove;
    r.node = e.node;
    r.block = block;
    r.cpu = cpu;
    r.start_ns = start;
    r.lock_wait_ns = locked_at >= 0 ? locked_at - start : 0;
    r.duration_ns = duration;
    r.result = result;
    r.steps = steps;
    after_memory_block(r, structs_before);
    recorder_.hotplug(r);
    done.push_back(r);
  }
  return done;
}

void HotplugOperations::memory_block(HotplugRecord& r, const workload::Event& e) {
  alloc::MemoryHotplug& hotplug = machine_.hotplug();
  std::int64_t locked_at = -1;
  hotplug.on_step = [&](alloc::HotplugStep step) {
    if (step == alloc::HotplugStep::locked && locked_at < 0) locked_at = env_.local_now();
    r.steps.push_back({step, env_.local_now()});
    signals_.hotplug_step({r.cpu, step, env_.local_now()});
  };
  if (r.type == HotplugType::memory_add) {
    r.result = hotplug.add_memory(r.block);
  } else if (r.type == HotplugType::memory_online) {
    if (machine_.pages().block_state(r.block) == BlockPresence::absent) hotplug.add_memory(r.block);
    const alloc::ZoneType zone =
        e.movable ? (*e.movable ? alloc::ZoneType::movable : alloc::ZoneType::normal)
                  : machine_.layout().blocks[r.block].zone;
    r.result = hotplug.online_pages(r.block, zone);
  } else {
    r.result = hotplug.offline_pages(r.block);
  }
  hotplug.on_step = nullptr;
  r.lock_wait_ns = locked_at >= 0 ? locked_at - r.start_ns : 0;
}

// What the allocator's callbacks did to per-node cache structs, and the nodes it may use now.
void HotplugOperations::after_memory_block(HotplugRecord& r,
                                           const alloc::NodeStructCounts& before) {
  const auto after = allocator_.state().hotplug_node_structs();
  r.node_structs_allocated = after.allocated - before.allocated;
  r.node_structs_freed = after.freed - before.freed;
  r.node_structs_reused = after.reused - before.reused;
  for (int n = 0; n < machine_.layout().nr_node_ids(); ++n) {
    if (allocator_.state().node_usable(n)) r.usable_nodes_after.push_back(n);
    if (machine_.states().test(n, alloc::NodeState::normal_memory))
      r.normal_nodes_after.push_back(n);
  }
}

// lock_device_hotplug_sysfs() (drivers/base/core.c, v5.10-v6.1): a mutex_trylock(); when it
// fails, msleep(5) and restart_syscall(), so the write is tried again some ticks later.
void HotplugOperations::lock_device_hotplug_sysfs() {
  while (!env_.try_lock(LockClass::device_hotplug_lock, 0, LockMode::exclusive,
                        "lock_device_hotplug_sysfs")) {
    env_.flush();
    const TaskStates::Sleeping asleep = env_.sleeping();
    env_.sleep_until(
        msleep_wake_ns(env_.local_now(), device_hotplug_retry_msecs, workload_.kernel.jiffy_ns));
    env_.charge(syscall_restart_ns);
  }
}

void HotplugOperations::cpu(int cpu, const workload::Event& e, bool online) {
  HotplugRecord r;
  r.type = online ? HotplugType::cpu_online : HotplugType::cpu_offline;
  r.cpu = e.cpu;
  r.start_ns = env_.local_now();
  if (signals_.begun.observed())
    signals_.begun(
        {cpu, r.start_ns, fmt::format("{} {}", hotplug_type_name(r.type), e.cpu), "hotplug"});
  // The write to cpuN/online: online_store() takes lock_device_hotplug_sysfs(), then
  // cpu_subsys_online() -> cpu_up() (kernel/cpu.c, v5.10-v6.1) begins with try_online_node() of
  // the CPU's node, which takes and drops mem_hotplug_lock's write side; cpu_down() has no such
  // step. Both then take cpu_maps_update_begin() and, in _cpu_up()/_cpu_down(),
  // cpus_write_lock() for the whole operation. The lock wait is until that is held.
  lock_device_hotplug_sysfs();
  // try_online_node() cannot fail here: the model has no pgdat allocation to fail.
  if (online) machine_.hotplug().try_online_node(machine_.layout().cpu_node[e.cpu]);
  env_.lock(LockClass::cpu_add_remove_lock, 0, LockMode::exclusive, "cpu_maps_update_begin");
  env_.lock(LockClass::cpu_hotplug_lock, 0, LockMode::write, "cpus_write_lock");
  r.lock_wait_ns = env_.local_now() - r.start_ns;
  if (online) {
    // CPUHP_SLAB_PREPARE runs on the CPU bringing the new one up, before it starts.
    if (auto* prepare = allocator_.cpuhp_prepare(); prepare && !cpus_.online(e.cpu))
      r.result = prepare->prepare_cpu(e.cpu);
    if (r.result == 0 && !cpus_.online(e.cpu)) {
      machine_.hotplug().page_alloc_cpu_online(e.cpu);  // CPUHP_PAGE_ALLOC (v5.14+)
      cpus_.bring_online(e.cpu, env_.local_now());
    }
  } else if (cpus_.online(e.cpu)) {
    r.result = cpu_down(e.cpu);
  }
  env_.unlock(LockClass::cpu_hotplug_lock, 0, LockMode::write);
  env_.unlock(LockClass::cpu_add_remove_lock, 0, LockMode::exclusive);
  env_.unlock(LockClass::device_hotplug_lock, 0, LockMode::exclusive);
  r.duration_ns = env_.local_now() - r.start_ns;
  signals_.ended({cpu, r.start_ns + r.duration_ns, r.result});
  recorder_.hotplug(r);
}

int HotplugOperations::cpu_down(int cpu) {
  cpus_.take_offline(cpu);
  // The dying CPU stops at its next operation boundary; CPUHP_SLUB_DEAD then runs here.
  // takedown_cpu() sleeps meanwhile (wait_for_ap_thread()), with the hotplug locks held.
  {
    const TaskStates::Sleeping asleep = env_.sleeping();
    while (!cpus_.parked(cpu) && env_.local_now() < workload_.duration_ns) {
      env_.flush();
      env_.sleep_for(Machine::poll_ns);
    }
  }
  if (!cpus_.parked(cpu)) return -etimedout;  // it never reached a boundary before the run ended
  // The teardown runs the higher states first: CPUHP_SLUB_DEAD (whose flush may free slab
  // pages onto this CPU's lists), then CPUHP_PAGE_ALLOC_DEAD.
  if (auto* dead = allocator_.cpuhp_dead()) dead->dead_cpu(cpu);
  machine_.hotplug().page_alloc_cpu_dead(cpu);
  return 0;
}

}  // namespace slabsim::sim
