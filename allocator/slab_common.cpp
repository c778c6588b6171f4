#include "allocator/slab_common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "allocator/allocator.hpp"
#include "allocator/mm/memory_notify.hpp"

namespace slabsim::alloc {

std::uint64_t calculate_alignment(const CacheFlags& flags, std::uint64_t align,
                                  std::uint64_t size) {
  constexpr std::uint64_t word = 8;                // sizeof(void *)
  constexpr std::uint64_t arch_slab_minalign = 8;  // ARCH_SLAB_MINALIGN on x86_64
  if (flags.hwcache_align) {
    std::uint64_t ralign = cache_line_size;
    while (size <= ralign / 2)
      ralign /= 2;
    align = std::max(align, ralign);
  }
  align = std::max(align, arch_slab_minalign);
  return (align + word - 1) / word * word;
}

const char* violation_kind_name(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::missing_node:
      return "missing-node";
    case ViolationKind::use_after_free:
      return "use-after-free";
    case ViolationKind::other:
      break;
  }
  return "violation";
}

Cache* SlabCommon::kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                                     CacheFlags flags) {
  env_.sync();
  lock_steps(strategy_.create_locks, "kmem_cache_create");
  // `if (!usersize) s = __kmem_cache_alias(...)`: a merge makes nothing, so it neither allocates
  // a struct kmem_cache nor walks the nodes in init_kmem_cache_nodes().
  if (Cache* alias = allocator_.__kmem_cache_alias(name, object_size, align, flags)) {
    unlock_steps(strategy_.create_locks);
    return alias;
  }
  CreatedCache created = allocator_.__kmem_cache_create(name, object_size, align, flags);
  if (created.cache)
    list_add(created.cache);  // create_cache(): s->refcount = 1 (the struct's default)
  else
    log(fmt::format("kmem_cache_create({}) failed with error {}: {}", name, created.error,
                    created.why));
  unlock_steps(strategy_.create_locks);
  return created.cache;
}

int SlabCommon::kmem_cache_destroy(Cache* s) {
  if (!s) return 0;
  env_.sync();
  if (s->destroyed)
    throw std::invalid_argument("kmem_cache_destroy: cache " + s->name + " was already destroyed");
  lock_steps(strategy_.destroy_locks, "kmem_cache_destroy");
  const bool rcu_set = s->flags.typesafe_by_rcu;
  int err = 1;
  if (--s->refcount == 0) {
    err = shutdown_cache(s);
    if (err) log("kmem_cache_destroy " + s->name + ": Slab cache still has objects");
  }
  unlock_steps(strategy_.destroy_locks);
  // kmem_cache_destroy() v6.1: `if (!err && !rcu_set) kmem_cache_release(s)` after both locks
  // are dropped, so that kernfs removal no longer nests inside cpu_hotplug_lock and slab_mutex
  // (0495e337b703, v6.0; the `err` test is the v6.1.y stable fix of that commit). A
  // SLAB_TYPESAFE_BY_RCU cache is released by slab_caches_to_rcu_destroy_workfn() instead; v6.1
  // has no rcu_barrier() of its own in kmem_cache_destroy().
  if (err == 0 && !rcu_set && strategy_.slub_version == SlubVersion::v6_1) kmem_cache_release(s);
  return err;
}

int SlabCommon::shutdown_cache(Cache* s) {
  if (allocator_.__kmem_cache_shutdown(s) != 0) return -ebusy;
  s->listed = false;  // list_del(&s->list)
  slab_caches_.erase(std::find(slab_caches_.begin(), slab_caches_.end(), s));
  const bool v6_1 = strategy_.slub_version == SlubVersion::v6_1;
  if (s->flags.typesafe_by_rcu) {
    // shutdown_cache(): the slabs __kmem_cache_shutdown() just freed wait for a grace period and
    // their callbacks use the cache, so it goes on slab_caches_to_rcu_destroy for the work.
    // v5.10-v5.12 remove its sysfs directory now, under the destroy locks; v6.1 leaves it to
    // the work's kmem_cache_release() (0495e337b703).
    if (!v6_1)
      if (SlabSysfs* sysfs = allocator_.sysfs()) sysfs->sysfs_slab_unlink(s);
    slab_caches_to_rcu_destroy_.push_back(s);
    // schedule_work(&slab_caches_to_rcu_destroy_work): one work item, queued again only once
    // it has started.
    if (!rcu_destroy_work_queued_) {
      rcu_destroy_work_queued_ = true;
      env_.schedule_work([this] { slab_caches_to_rcu_destroy_workfn(); });
    }
    return 0;
  }
  // v5.10-v5.12 release the cache inside the destroy locks; v6.1 after them (above).
  if (!v6_1) kmem_cache_release(s);
  return 0;
}

// slab_caches_to_rcu_destroy_workfn() (v5.10, v5.12, v6.1): takes the list under slab_mutex,
// then, with no lock held, rcu_barrier() for the slabs' RCU callbacks and the release of each
// cache (v5.10-v5.12: sysfs_slab_release(), the directory being gone already; v6.1:
// kmem_cache_release(), sysfs_slab_unlink() included).
void SlabCommon::slab_caches_to_rcu_destroy_workfn() {
  rcu_destroy_work_queued_ = false;
  env_.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_caches_to_rcu_destroy_workfn");
  std::vector<Cache*> to_destroy;
  to_destroy.swap(slab_caches_to_rcu_destroy_);
  env_.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  if (to_destroy.empty()) return;
  env_.rcu_barrier();
  const bool v6_1 = strategy_.slub_version == SlubVersion::v6_1;
  for (Cache* s : to_destroy) {
    if (v6_1) {
      kmem_cache_release(s);
    } else {
      allocator_.__kmem_cache_release(s);
      s->destroyed = true;
    }
  }
}

void SlabCommon::kmem_cache_release(Cache* s) {
  if (SlabSysfs* sysfs = allocator_.sysfs()) sysfs->sysfs_slab_unlink(s);
  // SLUB's sysfs_slab_release(), everyone else's slab_kmem_cache_release().
  allocator_.__kmem_cache_release(s);
  s->destroyed = true;
}

int SlabCommon::kmem_cache_shrink(Cache* s) {
  if (!s) throw std::invalid_argument("kmem_cache_shrink: NULL cache");
  env_.sync();
  lock_steps(strategy_.shrink_locks, "kmem_cache_shrink");
  const int ret = allocator_.__kmem_cache_shrink(s);
  unlock_steps(strategy_.shrink_locks);
  return ret;
}

bool SlabCommon::slab_unmergeable(const Cache& s) const {
  return slab_nomerge_ || s.flags.never_merge() || s.flags.has_ctor || s.usersize || s.refcount < 0;
}

Cache* SlabCommon::find_mergeable(unsigned size, unsigned align, const CacheFlags& flags) const {
  constexpr std::uint64_t word = 8;  // sizeof(void *)
  if (slab_nomerge_ || flags.has_ctor) return nullptr;
  std::uint64_t want = (size + word - 1) / word * word;  // ALIGN(size, sizeof(void *))
  const std::uint64_t a = calculate_alignment(flags, align, want);
  want = (want + a - 1) / a * a;  // ALIGN(size, align)
  // kmem_cache_flags() would add the slub_debug= boot option's flags here; the model has none.
  if (flags.never_merge()) return nullptr;
  // slab_caches is newest first: its reverse walk starts from the oldest cache.
  for (auto it = slab_caches_.rbegin(); it != slab_caches_.rend(); ++it) {
    Cache* s = *it;
    if (slab_unmergeable(*s)) continue;
    if (want > s->size) continue;
    if (!flags.merge_same_equal(s->flags)) continue;
    if ((s->size & ~(a - 1)) != s->size) continue;  // alignment compatible
    if (s->size - want >= word) continue;
    return s;
  }
  return nullptr;
}

Cache* SlabCommon::find_cache(const std::string& name) const {
  for (Cache* s : slab_caches_)
    if (s->name == name) return s;
  return nullptr;
}

void SlabCommon::list_add(Cache* s) {
  s->listed = true;
  slab_caches_.insert(slab_caches_.begin(), s);
}

std::string SlabCommon::proc_slabinfo() const {
  const SlabinfoSource* source = allocator_.slabinfo_source();
  if (!source) return "";
  std::string out;
  for (const Cache* s : slab_caches_) {
    if (out.empty()) out = print_slabinfo_header(source->config_debug_slab());
    out += cache_show(*s, *source);
  }
  return out;
}

std::string print_slabinfo_header(bool debug_slab) {
  std::string out =
      debug_slab ? "slabinfo - version: 2.1 (statistics)\n" : "slabinfo - version: 2.1\n";
  out += "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>";
  out += " : tunables <limit> <batchcount> <sharedfactor>";
  out += " : slabdata <active_slabs> <num_slabs> <sharedavail>";
  if (debug_slab) {
    out +=
        " : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable>"
        " <nodeallocs> <remotefrees> <alienoverflow>";
    out += " : cpustat <allochit> <allocmiss> <freehit> <freemiss>";
  }
  out += '\n';
  return out;
}

std::string cache_show(const Cache& s, const SlabinfoSource& source) {
  const SlabInfo info = source.get_slabinfo(s);
  std::string row =
      fmt::format("{:<17} {:>6} {:>6} {:>6} {:>4} {:>4}", s.name, info.active_objs, info.num_objs,
                  s.size, info.objects_per_slab, 1 << info.cache_order);
  row += fmt::format(" : tunables {:>4} {:>4} {:>4}", info.limit, info.batchcount, info.shared);
  row += fmt::format(" : slabdata {:>6} {:>6} {:>6}", info.active_slabs, info.num_slabs,
                     info.shared_avail);
  row += source.slabinfo_show_stats(s);
  row += '\n';
  return row;
}

void SlabCommon::lock_steps(const std::vector<LockStep>& steps, const char* function) {
  for (const auto& step : steps)
    env_.lock(step.cls, 0, step.mode, function);
}

void SlabCommon::unlock_steps(const std::vector<LockStep>& steps) {
  for (auto it = steps.rbegin(); it != steps.rend(); ++it)
    env_.unlock(it->cls, 0, it->mode);
}

void SlabCommon::violation(int cpu, const char* function, std::string what, ViolationKind kind) {
  if (!reported_.insert(std::string(function) + '\n' + what).second) return;
  violations_.push_back({env_.now_ns(), cpu, function, std::move(what), kind});
}

void SlabCommon::invariant_violation(int cpu, const char* function, std::string what,
                                     ViolationKind kind) {
  if (!reported_.insert(what).second) return;
  violations_.push_back({env_.now_ns(), cpu, function, std::move(what), kind});
}

}  // namespace slabsim::alloc
