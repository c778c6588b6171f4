// The world as kmem_cache_init() sees it: the boot CPU alone, before the run. Time stands at 0,
// nothing is charged, every lock is free and an IPI, an RCU callback or a work runs at once. SLAB
// and SLUB boot on it and switch to the run's environment when kmem_cache_init() is done.
#pragma once

#include "allocator/environment.hpp"

namespace slabsim::alloc {

class BootEnvironment final : public Environment {
 public:
  int current_cpu() override { return 0; }
  std::int64_t now_ns() override { return 0; }
  void charge(std::int64_t) override {}
  using Environment::touch_memory;
  void touch_memory(int) override {}
  void sync() override {}
  void lock(LockClass, std::uint64_t, LockMode, const char*) override {}
  void unlock(LockClass, std::uint64_t, LockMode) override {}
  bool try_lock(LockClass, std::uint64_t, LockMode, const char*) override { return true; }
  void irq_disable() override {}
  void irq_enable() override {}
  void run_on_cpu(int, const std::function<void()>& fn) override { fn(); }
  // Nothing queued at boot frees a SLAB_TYPESAFE_BY_RCU slab; what is queued runs at once.
  void call_rcu(std::function<void()> fn) override { fn(); }
  void rcu_barrier() override {}
  void schedule_work(std::function<void()> fn) override { fn(); }
  std::uint64_t random() override { return 0; }
};

}  // namespace slabsim::alloc
