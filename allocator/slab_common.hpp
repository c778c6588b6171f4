// What every allocator model shares from mm/slab_common.c and the kernel around it: the
// strategy's lock nests around kmem_cache_create/destroy/shrink, the kernel log, and the
// record of violations the model caught.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "allocator/environment.hpp"
#include "allocator/mm/memory_notify.hpp"
#include "allocator/strategy.hpp"
#include "allocator/violation.hpp"

namespace slabsim::alloc {

class SlabCommon {
 public:
  SlabCommon(Environment& env, Strategy strategy) : env_(env), strategy_(std::move(strategy)) {}

  // Takes `steps` in order (each a global lock, instance 0) / releases them in reverse.
  void lock_steps(const std::vector<LockStep>& steps, const char* function);
  void unlock_steps(const std::vector<LockStep>& steps);
  // `body()` inside `steps`: the shape of kmem_cache_shrink() and its kin.
  template <class Body>
  auto with_locks(const std::vector<LockStep>& steps, const char* function, Body&& body) {
    lock_steps(steps, function);
    auto result = body();
    unlock_steps(steps);
    return result;
  }

  // Records a violation once per distinct (function, what), at the current time.
  void violation(int cpu, const char* function, std::string what,
                 ViolationKind kind = ViolationKind::other);
  // The same for a broken invariant, recorded once however many check points find it.
  void invariant_violation(int cpu, const char* function, std::string what,
                           ViolationKind kind = ViolationKind::other);
  [[nodiscard]] std::size_t violation_count() const { return violations_.size(); }
  // pr_err()/pr_warn().
  void log(std::string message) { kernel_log_.push_back(std::move(message)); }

  // kmem_cache_destroy() (mm/slab_common.c) inside the strategy's destroy locks: drops the
  // reference and, at zero, calls `shutdown()` (__kmem_cache_shutdown(): non-zero when objects
  // remain) and then `release()` (unlink and free the cache). The kernel returns nothing; the
  // model says what happened: 0 when the cache was released, -EBUSY when objects remain ("Slab
  // cache still has objects", and the cache stays listed with refcount 0, as v5.10 leaves it),
  // 1 when a reference remains (an alias, or a cache whose earlier destroy failed).
  template <class Shutdown, class Release>
  int destroy(int& refcount, const std::string& name, Shutdown&& shutdown, Release&& release) {
    lock_steps(strategy_.destroy_locks, "kmem_cache_destroy");
    int err = 1;
    if (--refcount == 0) {
      err = 0;
      if (shutdown()) {
        log("kmem_cache_destroy " + name + ": Slab cache still has objects");
        err = -ebusy;
      } else {
        release();
      }
    }
    unlock_steps(strategy_.destroy_locks);
    return err;
  }

  [[nodiscard]] const Strategy& strategy() const { return strategy_; }
  [[nodiscard]] const std::vector<Violation>& violations() const { return violations_; }
  [[nodiscard]] const std::vector<std::string>& kernel_log() const { return kernel_log_; }

 private:
  Environment& env_;
  Strategy strategy_;
  std::vector<Violation> violations_;
  std::set<std::string> reported_;  // keys of violations already recorded
  std::vector<std::string> kernel_log_;
};

}  // namespace slabsim::alloc
