#include "allocator/mm/memory_hotplug.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace slabsim::alloc {

const char* memory_action_name(MemoryAction a) {
  switch (a) {
    case MemoryAction::online:
      return "MEM_ONLINE";
    case MemoryAction::going_offline:
      return "MEM_GOING_OFFLINE";
    case MemoryAction::offline:
      return "MEM_OFFLINE";
    case MemoryAction::going_online:
      return "MEM_GOING_ONLINE";
    case MemoryAction::cancel_online:
      return "MEM_CANCEL_ONLINE";
    case MemoryAction::cancel_offline:
      return "MEM_CANCEL_OFFLINE";
  }
  return "?";
}

MemoryHotplug::MemoryHotplug(Environment& env, PageAllocator& pages, NodeStates& states,
                             HotplugCosts costs, HotplugSide side)
    : env_(env), pages_(pages), states_(states), costs_(costs), side_(side) {}

void MemoryHotplug::work(std::int64_t per_block_ns) {
  constexpr std::uint64_t pages_128mib = 32768;
  env_.charge(static_cast<std::int64_t>(static_cast<double>(per_block_ns) *
                                        static_cast<double>(pages_.layout().block_pages) /
                                        pages_128mib));
  env_.sync();  // the time passes for everyone: other CPUs run meanwhile
}

void MemoryHotplug::zone_walk(std::uint64_t pages) {
  constexpr std::uint64_t pages_per_gib = 262144;
  env_.charge(static_cast<std::int64_t>(static_cast<double>(costs_.zone_walk_per_gib_ns) *
                                        static_cast<double>(pages) / pages_per_gib));
  env_.sync();
}

void MemoryHotplug::register_notifier(MemoryNotifier notifier) {
  // notifier_chain_register(): before the first entry of lower priority, so equal priorities
  // keep registration order.
  auto at = std::find_if(chain_.begin(), chain_.end(),
                         [&](const MemoryNotifier& n) { return n.priority < notifier.priority; });
  chain_.insert(at, std::move(notifier));
}

int MemoryHotplug::notify(MemoryAction action, const MemoryNotify& arg) {
  // blocking_notifier_call_chain(): under the chain's rwsem (read); stops at the first error.
  env_.lock(LockClass::memory_chain, 0, LockMode::read, "blocking_notifier_call_chain");
  int ret = 0;
  for (const auto& n : chain_) {
    ret = n.call(action, arg);
    if (ret) break;
  }
  env_.unlock(LockClass::memory_chain, 0, LockMode::read);
  return ret;
}

void MemoryHotplug::notify_all(MemoryAction action, const MemoryNotify& arg) {
  env_.lock(LockClass::memory_chain, 0, LockMode::read, "blocking_notifier_call_chain");
  for (const auto& n : chain_)
    n.call(action, arg);
  env_.unlock(LockClass::memory_chain, 0, LockMode::read);
}

void MemoryHotplug::mem_hotplug_begin() {
  if (side_ == HotplugSide::mem_hotplug_mutex) {  // v3.14: lock_memory_hotplug()
    env_.lock(LockClass::mem_hotplug_mutex, 0, LockMode::exclusive, "lock_memory_hotplug");
    return;
  }
  env_.lock(LockClass::cpu_hotplug_lock, 0, LockMode::read, "mem_hotplug_begin");
  env_.lock(LockClass::mem_hotplug_lock, 0, LockMode::write, "mem_hotplug_begin");
}

void MemoryHotplug::mem_hotplug_done() {
  if (side_ == HotplugSide::mem_hotplug_mutex) {  // unlock_memory_hotplug()
    env_.unlock(LockClass::mem_hotplug_mutex, 0, LockMode::exclusive);
    return;
  }
  env_.unlock(LockClass::mem_hotplug_lock, 0, LockMode::write);
  env_.unlock(LockClass::cpu_hotplug_lock, 0, LockMode::read);
}

bool MemoryHotplug::pcp_disabled_in_offline() const {
  const auto v = pages_.pcp_version();
  return v && *v != PcpVersion::v5_10;
}

void MemoryHotplug::drain_all_pages(int nid, ZoneType zone, bool force_all_cpus) {
  // A zone drain waits for one in progress instead of skipping it (mutex_trylock(), then
  // mutex_lock()).
  if (!env_.try_lock(LockClass::pcpu_drain_mutex, 0, LockMode::exclusive, "__drain_all_pages"))
    env_.lock(LockClass::pcpu_drain_mutex, 0, LockMode::exclusive, "__drain_all_pages");
  // The simulator's event-task CPUs stand for tasks on the kernel's CPUs, not CPUs of their
  // own: their lists are drained here, by the caller, and only the machine's CPUs get works.
  std::vector<int> cpus;
  auto drain = [&](int cpu) {
    const std::uint64_t pages = pages_.drain_pages_zone(cpu, nid, zone);
    env_.charge(static_cast<std::int64_t>(pages) * costs_.pcp_drain_page_ns);
  };
  for (int cpu : pages_.cpus_with_pcps(nid, zone, force_all_cpus)) {
    if (pages_.layout().is_event_cpu(cpu) || pages_.pcp_version() == PcpVersion::v6_1)
      drain(cpu);
    else
      cpus.push_back(cpu);
  }
  env_.sync();
  if (!cpus.empty()) env_.run_works_on_cpus(cpus, drain);  // drain_local_pages_wq() on each
  env_.unlock(LockClass::pcpu_drain_mutex, 0, LockMode::exclusive);
}

void MemoryHotplug::zone_pcp_update() {
  if (!pages_.pcp_version()) return;
  env_.lock(LockClass::pcp_batch_high_lock, 0, LockMode::exclusive, "zone_pcp_update");
  env_.unlock(LockClass::pcp_batch_high_lock, 0, LockMode::exclusive);
}

void MemoryHotplug::zone_pcp_disable(int nid, ZoneType zone) {
  env_.lock(LockClass::pcp_batch_high_lock, 0, LockMode::exclusive, "zone_pcp_disable");
  pages_.zone_pcp_disable(nid, zone);
  // __drain_all_pages(zone, true): every online CPU, whatever its pcp->count says (a racy read
  // in the kernel), gets a work or a remote drain.
  drain_all_pages(nid, zone, /*force_all_cpus=*/true);
}

void MemoryHotplug::zone_pcp_enable(int nid, ZoneType zone) {
  pages_.zone_pcp_enable(nid, zone);
  env_.unlock(LockClass::pcp_batch_high_lock, 0, LockMode::exclusive);
}

void MemoryHotplug::page_alloc_cpu_online(int cpu) {
  pages_.set_cpu_online(cpu, true);
  if (pages_.pcp_version() == PcpVersion::v6_1) zone_pcp_update();
}

void MemoryHotplug::page_alloc_cpu_dead(int cpu) {
  pages_.set_cpu_online(cpu, false);
  const std::uint64_t drained = pages_.drain_pages(cpu);
  env_.charge(static_cast<std::int64_t>(drained) * costs_.pcp_drain_page_ns);
  if (pages_.pcp_version() == PcpVersion::v6_1) zone_pcp_update();
}

int MemoryHotplug::add_memory(int block) {
  if (pages_.block_state(block) != BlockPresence::absent) return -einval;
  mem_hotplug_begin();
  step(HotplugStep::locked);
  work(costs_.add_memory_ns);  // sparse_add_section(): the memmap is allocated, not initialised
  pages_.add_block(block);
  // add_memory_resource(): a new pgdat comes online at hot-add, long before online_pages(),
  // and hotadd_new_pgdat() builds the zonelists so that the new node has a fallback list.
  const int nid = pages_.layout().blocks[block].node;
  if (!states_.test(nid, NodeState::online)) {
    states_.set(nid, NodeState::online);
    pages_.build_all_zonelists(states_);
  }
  mem_hotplug_done();
  return 0;
}

int MemoryHotplug::try_online_node(int nid) {
  if (side_ == HotplugSide::mem_hotplug_mutex && states_.test(nid, NodeState::online)) return 0;
  mem_hotplug_begin();
  step(HotplugStep::locked);
  int ret = 0;
  if (!states_.test(nid, NodeState::online)) {  // __try_online_node()
    states_.set(nid, NodeState::online);
    pages_.build_all_zonelists(states_);
    ret = 1;
  }
  mem_hotplug_done();
  return ret;
}

int MemoryHotplug::remove_memory(const std::vector<int>& blocks) {
  const std::uint64_t bytes = pages_.layout().block_pages * page_size;
  for (int b : blocks) {
    if (pages_.block_state(b) == BlockPresence::offline) continue;
    if (pages_.block_state(b) == BlockPresence::online)
      log_.push_back(fmt::format("removing memory fails, because memory [{:#x}-{:#x}] is onlined",
                                 static_cast<std::uint64_t>(b) * bytes,
                                 (static_cast<std::uint64_t>(b) + 1) * bytes - 1));
    return -ebusy;
  }
  mem_hotplug_begin();
  step(HotplugStep::locked);
  for (int b : blocks)
    pages_.remove_block(b);
  // try_offline_node(): only a node with no memory block and no present CPU left goes.
  std::set<int> nodes;
  for (int b : blocks)
    nodes.insert(pages_.layout().blocks[b].node);
  for (int nid : nodes) {
    bool in_use = false;
    for (std::size_t b = 0; b < pages_.layout().blocks.size(); ++b)
      in_use = in_use || (pages_.layout().blocks[b].node == nid &&
                          pages_.block_state(static_cast<int>(b)) != BlockPresence::absent);
    for (int node_of_cpu : pages_.layout().cpu_node)
      in_use = in_use || node_of_cpu == nid;  // no_cpu (-1) is no node
    if (!in_use) states_.clear(nid, NodeState::online);
  }
  mem_hotplug_done();
  return 0;
}

int MemoryHotplug::online_pages(int block, ZoneType zone) {
  if (pages_.block_state(block) != BlockPresence::offline) return -einval;
  const int nid = pages_.layout().blocks[block].node;
  mem_hotplug_begin();
  step(HotplugStep::locked);
  // move_pfn_range_to_zone(): memmap_init_zone() of the block, then set_zone_contiguous() over
  // the zone as it will span.
  work(costs_.online_memmap_ns);
  zone_walk(pages_.managed_pages(nid, zone) + pages_.layout().block_pages);
  // node_states_check_changes_online(): which masks this operation will flip.
  MemoryNotify arg;
  arg.start_pfn = static_cast<std::uint64_t>(block) * pages_.layout().block_pages;
  arg.nr_pages = pages_.layout().block_pages;
  if (zone == ZoneType::normal && !states_.test(nid, NodeState::normal_memory))
    arg.status_change_nid_normal = nid;
  if (!states_.test(nid, NodeState::memory)) arg.status_change_nid = nid;

  if (int ret = notify(MemoryAction::going_online, arg); ret) {
    notify_all(MemoryAction::cancel_online, arg);
    log_.push_back(fmt::format("online_pages [mem {:#x}-{:#x}] failed", arg.start_pfn << 12,
                               ((arg.start_pfn + arg.nr_pages) << 12) - 1));
    mem_hotplug_done();
    return ret;
  }
  step(HotplugStep::going_online_notified);
  // The zonelists are rebuilt when the zone was unpopulated, after the node states change.
  const bool rebuild = pages_.managed_pages(nid, zone) == 0;
  work(costs_.online_pages_ns);  // online_pages_range(): the pages go to the buddy allocator
  pages_.online_block(block, zone);
  // node_states_set_node()
  if (arg.status_change_nid_normal >= 0) states_.set(nid, NodeState::normal_memory);
  if (arg.status_change_nid >= 0) states_.set(nid, NodeState::memory);
  step(HotplugStep::node_states_set);
  // v5.10 and v5.12 resize the zone's lists unless the zone was new (setup_zone_pageset() sized
  // them, without the lock); v6.1's init_per_zone_wmark_min() resizes them always.
  if (rebuild) pages_.build_all_zonelists(states_);
  if (!rebuild || pages_.pcp_version() == PcpVersion::v6_1) zone_pcp_update();
  notify(MemoryAction::online, arg);
  mem_hotplug_done();
  return 0;
}

// offline_pages() in the order v5.10, v5.12 and v6.1 share (mm/memory_hotplug.c): isolate the
// range, node_states_check_changes_offline(), MEM_GOING_OFFLINE, migrate, offline the isolated
// pages. From start_isolate_page_range() on, the block's free pages are out of the zone and no
// allocation can land there, so the migration loop only meets pages that were already in use:
// a slab page makes the isolation itself fail (has_unmovable_pages()), and movable pages
// migrate. Every failure after the isolation undoes it (undo_isolate_page_range()) before
// MEM_CANCEL_OFFLINE. The per-CPU lists: see offline_pages() in memory_hotplug.hpp.
int MemoryHotplug::offline_pages(int block) {
  if (pages_.block_state(block) != BlockPresence::online) return -einval;
  const int nid = pages_.layout().blocks[block].node;
  const ZoneType zone = pages_.block_zone(block);
  MemoryNotify arg;
  arg.start_pfn = static_cast<std::uint64_t>(block) * pages_.layout().block_pages;
  arg.nr_pages = pages_.layout().block_pages;
  const auto failed = [&](const char* reason) {
    log_.push_back(fmt::format("memory offlining [mem {:#x}-{:#x}] failed due to {}",
                               arg.start_pfn << 12, ((arg.start_pfn + arg.nr_pages) << 12) - 1,
                               reason));
  };
  mem_hotplug_begin();
  step(HotplugStep::locked);
  const bool pcp_disable = pcp_disabled_in_offline();
  if (pcp_disable) zone_pcp_disable(nid, zone);
  const auto done = [&] {
    if (pcp_disable) zone_pcp_enable(nid, zone);
    mem_hotplug_done();
  };
  if (!pages_.isolate_block(block)) {
    failed("failure to isolate range");
    done();
    return -ebusy;
  }
  step(HotplugStep::isolated);
  // v5.10's set_migratetype_isolate() drains once the range is isolated.
  if (pages_.pcp_version() == PcpVersion::v5_10) drain_all_pages(nid, zone);
  // node_states_check_changes_offline()
  const std::uint64_t normal = pages_.managed_pages(nid, ZoneType::normal);
  const std::uint64_t all = normal + pages_.managed_pages(nid, ZoneType::movable);
  if (zone == ZoneType::normal && arg.nr_pages >= normal) arg.status_change_nid_normal = nid;
  if (arg.nr_pages >= all) arg.status_change_nid = nid;

  if (int ret = notify(MemoryAction::going_offline, arg); ret) {
    // failed_removal_isolated: the undo comes before MEM_CANCEL_OFFLINE.
    pages_.undo_isolate_block(block);
    notify_all(MemoryAction::cancel_offline, arg);
    failed("notifier failure");
    done();
    return ret;
  }
  step(HotplugStep::going_offline_notified);
  work(costs_.offline_pages_ns);  // migration and __offline_isolated_pages()
  // test_pages_isolated(): every page of the range must be a free buddy page by now. Only
  // under v5.10 can one not be: a page left on a CPU's list (drain again), or a page a CPU took
  // from its list after the isolation, which only its free releases.
  for (int pass = 0; pages_.unmovable_pages(block) != 0 || pages_.pcp_pages_in_block(block) != 0;
       ++pass) {
    if (pass == costs_.offline_retry_passes) {
      pages_.undo_isolate_block(block);
      notify_all(MemoryAction::cancel_offline, arg);
      failed("signal backoff");
      done();
      return -eintr;
    }
    drain_all_pages(nid, zone);
    work(costs_.offline_retry_ns);
  }
  pages_.offline_block(block);
  if (pcp_disable) zone_pcp_enable(nid, zone);
  // An emptied zone rebuilds the zonelists before node_states_clear_node(), so the node still
  // counts as N_MEMORY in that rebuild's tie-breaking (v5.10 order).
  // v5.10 and v5.12: zone_pcp_reset() and the rebuild for an emptied zone, else
  // zone_pcp_update(); v6.1's init_per_zone_wmark_min() resizes every zone's lists first.
  const bool emptied = pages_.managed_pages(nid, zone) == 0;
  if (!emptied || pages_.pcp_version() == PcpVersion::v6_1) zone_pcp_update();
  if (emptied) pages_.build_all_zonelists(states_);
  if (arg.status_change_nid_normal >= 0) states_.clear(nid, NodeState::normal_memory);
  if (arg.status_change_nid >= 0) states_.clear(nid, NodeState::memory);
  step(HotplugStep::node_states_cleared);
  notify(MemoryAction::offline, arg);
  zone_walk(pages_.managed_pages(nid, zone));  // remove_pfn_range_from_zone()
  mem_hotplug_done();
  return 0;
}

}  // namespace slabsim::alloc
