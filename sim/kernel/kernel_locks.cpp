#include "kernel/kernel_locks.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "topology/topology.hpp"

namespace slabsim::sim {

namespace {

std::size_t index_of(LockClass cls) {
  const auto i = static_cast<std::size_t>(cls);
  if (i >= static_cast<std::size_t>(alloc::lock_class_count))
    throw std::invalid_argument(fmt::format("unknown lock class {}", i));
  return i;
}

}  // namespace

std::size_t KernelLocks::KeyHash::operator()(const Key& k) const noexcept {
  return std::hash<std::uint64_t>{}(k.instance * 0x9E3779B97F4A7C15ull ^
                                    static_cast<std::uint64_t>(k.cls));
}

KernelLocks::KernelLocks(const topology::Topology& machine, KernelLockConfig config)
    : config_(config), numa_(machine), used_(alloc::lock_class_count, false) {
  if (config_.mutex_acquire_ns < 0 || config_.spinlock_acquire_ns < 0)
    throw std::invalid_argument("KernelLocks: lock costs must not be negative");
  stats_.reserve(alloc::lock_class_count);
  for (int i = 0; i < alloc::lock_class_count; ++i)
    stats_.emplace_back(std::string(alloc::lock_class_base_name(static_cast<LockClass>(i))),
                        alloc::lock_class_name_version(static_cast<LockClass>(i)));
}

KernelLocks::~KernelLocks() = default;

LockKind KernelLocks::kind_of(LockClass cls) {
  if (alloc::is_kernfs_active(cls)) return LockKind::kernfs_active;
  switch (cls) {
    case LockClass::slab_mutex:
    case LockClass::device_hotplug_lock:
    case LockClass::flush_lock:
    case LockClass::mem_hotplug_mutex:
    case LockClass::cpu_add_remove_lock:
    case LockClass::pcpu_drain_mutex:
    case LockClass::pcp_batch_high_lock:
      return LockKind::mutex;
    case LockClass::list_lock:
    case LockClass::slab_list_lock:
    case LockClass::slab_boot_list_lock:
    case LockClass::alien_lock:
    case LockClass::slob_lock:
      return LockKind::spinlock;
    case LockClass::mem_hotplug_lock:
    case LockClass::cpu_hotplug_lock:
      return LockKind::percpu_rwsem;
    case LockClass::memory_chain:
      return LockKind::rwsem;
    case LockClass::kernfs_active_first:
      break;
  }
  throw std::invalid_argument(fmt::format("unknown lock class {}", static_cast<int>(cls)));
}

KernelLock* KernelLocks::lookup(const Key& key, std::size_t hash) {
  Recent& recent = recent_[hash % recent_slots];
  if (recent.lock != nullptr && recent.key == key) return recent.lock;
  auto it = locks_.find(key);
  if (it == locks_.end()) return nullptr;
  recent = {key, it->second.get()};
  return recent.lock;
}

KernelLock& KernelLocks::get(LockClass cls, std::uint64_t instance) {
  const Key key{cls, instance};
  const std::size_t hash = KeyHash{}(key);
  if (KernelLock* lock = lookup(key, hash)) return *lock;
  const std::size_t i = index_of(cls);
  auto& slot = locks_[key];
  std::string label = fmt::format("{}[{}]", alloc::lock_class_name(cls), instance);
  LockStat& stat = stats_[i];
  switch (kind_of(cls)) {
    case LockKind::mutex:
      slot = std::make_unique<KernelMutex>(std::move(label), stat, config_.mutex_acquire_ns,
                                           &tasks_, config_.mutex_spin_on_owner);
      break;
    case LockKind::spinlock:
      slot =
          std::make_unique<KernelSpinlock>(std::move(label), stat, config_.spinlock_acquire_ns,
                                           config_.spinlock_cacheline_transfer ? &numa_ : nullptr);
      break;
    case LockKind::percpu_rwsem:
      slot = std::make_unique<PercpuRwSemaphore>(std::move(label), stat, config_.rcu_grace_period,
                                                 LockKind::percpu_rwsem, &tasks_);
      break;
    case LockKind::rwsem:
      slot = std::make_unique<PercpuRwSemaphore>(std::move(label), stat, RcuGracePeriod::fixed(0),
                                                 LockKind::rwsem, &tasks_);
      break;
    case LockKind::kernfs_active:
      slot = std::make_unique<KernfsActiveRef>(std::move(label), stat, &tasks_);
      break;
  }
  used_[i] = true;
  recent_[hash % recent_slots] = {key, slot.get()};
  return *slot;
}

const KernelLock* KernelLocks::find(LockClass cls, std::uint64_t instance) const {
  auto it = locks_.find(Key{cls, instance});
  return it == locks_.end() ? nullptr : it->second.get();
}

void KernelLocks::forget(LockClass cls, std::uint64_t instance) {
  const Key key{cls, instance};
  auto it = locks_.find(key);
  if (it == locks_.end() || it->second->in_use()) return;
  Recent& recent = recent_[KeyHash{}(key) % recent_slots];
  if (recent.lock == it->second.get()) recent = {};
  locks_.erase(it);
}

KernelLock& KernelLocks::at(int cpu, LockClass cls, std::uint64_t instance) {
  (void)numa_.node_of_cpu(cpu);  // std::out_of_range for an unknown CPU
  return get(cls, instance);
}

void KernelLocks::lock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode,
                       const char* function) {
  at(cpu, cls, instance).lock(cpu, mode, function);
}

bool KernelLocks::try_lock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode,
                           const char* function) {
  return at(cpu, cls, instance).try_lock(cpu, mode, function);
}

void KernelLocks::unlock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode) {
  (void)numa_.node_of_cpu(cpu);
  const Key key{cls, instance};
  KernelLock* lock = lookup(key, KeyHash{}(key));
  if (lock == nullptr)
    throw std::logic_error(fmt::format("{}[{}]: released on CPU {} but never taken",
                                       alloc::lock_class_name(cls), instance, cpu));
  lock->unlock(cpu, mode);
}

bool KernelLocks::kernfs_get_active(int cpu, LockClass cls, std::uint64_t instance,
                                    const char* function) {
  if (!alloc::is_kernfs_active(cls))
    throw std::invalid_argument(
        fmt::format("{} is no kn->active class", alloc::lock_class_name(cls)));
  return try_lock(cpu, cls, instance, LockMode::read, function);
}

void KernelLocks::kernfs_put_active(int cpu, LockClass cls, std::uint64_t instance) {
  unlock(cpu, cls, instance, LockMode::read);
}

const LockStat& KernelLocks::stat(LockClass cls) const {
  return stats_[index_of(cls)];
}

std::vector<LockClassStats> KernelLocks::lock_stat_classes() const {
  std::vector<LockClassStats> out;
  for (std::size_t i = 0; i < stats_.size(); ++i)
    if (used_[i]) out.push_back(stats_[i].stats());
  return out;
}

std::vector<LockClassStats> KernelLocks::kernel_lock_stat_classes() const {
  std::vector<LockClassStats> out;
  for (std::size_t i = 0; i < stats_.size(); ++i)
    if (used_[i]) out.push_back(stats_[i].kernel_stats());
  return out;
}

std::string KernelLocks::lock_stat_text() const {
  return format_lock_stat(kernel_lock_stat_classes(), !debug_locks_);
}

void KernelLocks::debug_locks_off() {
  debug_locks_ = false;
  for (auto& s : stats_)
    s.debug_locks_off();
}

void KernelLocks::clear_lock_stat() {
  for (auto& s : stats_)
    s.clear();
}

}  // namespace slabsim::sim
