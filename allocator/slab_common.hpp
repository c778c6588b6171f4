// mm/slab_common.c: what the kernel does the same whichever allocator it is built with. It owns
// kmem_cache_create(), kmem_cache_destroy() and kmem_cache_shrink() (the strategy's lock nests,
// the refcount, the list of caches) and calls the allocator's hooks of mm/slab.h inside them;
// it prints /proc/slabinfo from each allocator's get_slabinfo(), and keeps the kernel log and
// the record of violations every model reports into.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "allocator/allocator_parts.hpp"
#include "allocator/cache.hpp"
#include "allocator/environment.hpp"
#include "allocator/slab_flags.hpp"
#include "allocator/strategy.hpp"
#include "allocator/violation.hpp"

namespace slabsim::alloc {

class Allocator;

class SlabCommon {
 public:
  // `allocator` supplies the hooks and owns this object.
  SlabCommon(Allocator& allocator, Environment& env, Strategy strategy)
      : allocator_(allocator), env_(env), strategy_(std::move(strategy)) {}
  SlabCommon(const SlabCommon&) = delete;
  SlabCommon& operator=(const SlabCommon&) = delete;

  // kmem_cache_create_usercopy() (v5.10-v6.1): inside the strategy's create locks, first the
  // allocator's __kmem_cache_alias() (kmem_cache_create() passes usersize 0, so it is always
  // tried), which
  // returns an existing cache when find_mergeable() finds one: no struct, no kmem_cache_node is
  // made then. Otherwise create_cache(): the allocator's __kmem_cache_create(), then list_add()
  // on slab_caches; on failure the kernel's pr_warn() line (with why) and nullptr.
  Cache* kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                           CacheFlags flags);
  // kmem_cache_destroy() inside the strategy's destroy locks: drops the reference (an alias
  // drops only that: its sysfs link stays, as in the kernel) and, at zero,
  // shutdown_cache(). The kernel returns nothing; the model says what happened: 0 when the
  // cache was released, -EBUSY when objects remain ("Slab cache still has objects", and the
  // cache stays listed with refcount 0, as v5.10 leaves it), 1 when a reference remains (an
  // alias, or a cache whose earlier destroy failed). v6.1 (0495e337b703, v6.0) releases the
  // cache, its sysfs directory included, after dropping the destroy locks. A
  // SLAB_TYPESAFE_BY_RCU cache is released later, by a work after rcu_barrier() (0 all the same).
  int kmem_cache_destroy(Cache* s);
  // kmem_cache_shrink(): the allocator's __kmem_cache_shrink() inside the strategy's shrink
  // locks; non-zero when slabs remain.
  int kmem_cache_shrink(Cache* s);

  // /proc/slabinfo as a read returns it (slab_start()/slab_next()/slab_show()): the header,
  // printed together with the first cache (so no cache gives ""), then cache_show() of every
  // cache in slab_caches order. "" for an allocator without /proc/slabinfo (SLOB). A pure read:
  // the model takes no lock for it.
  [[nodiscard]] std::string proc_slabinfo() const;

  // slab_caches, newest first (list_add() at the head), as /proc/slabinfo walks it.
  [[nodiscard]] const std::vector<Cache*>& slab_caches() const { return slab_caches_; }
  // The same, as the allocator's own struct kmem_cache. (A range of its own rather than
  // std::views::transform: clang 14, which the libFuzzer build needs, cannot compile
  // libstdc++ 12's views.)
  template <class T>
  class CachesAs {
   public:
    struct iterator {
      std::vector<Cache*>::const_iterator at;
      T* operator*() const { return static_cast<T*>(*at); }
      iterator& operator++() {
        ++at;
        return *this;
      }
      bool operator==(const iterator&) const = default;
    };
    explicit CachesAs(const std::vector<Cache*>& caches) : caches_(&caches) {}
    [[nodiscard]] iterator begin() const { return {caches_->begin()}; }
    [[nodiscard]] iterator end() const { return {caches_->end()}; }
    [[nodiscard]] std::size_t size() const { return caches_->size(); }

   private:
    const std::vector<Cache*>* caches_;
  };
  template <class T>
  [[nodiscard]] CachesAs<T> slab_caches_as() const {
    return CachesAs<T>(slab_caches_);
  }
  // slab_unmergeable() (mm/slab_common.c, v5.10-v6.1): slab_nomerge, a SLAB_NEVER_MERGE flag, a
  // ctor, a usercopy whitelist (s->usersize: the kmalloc caches) or a negative refcount (a boot
  // cache) keep `s` out of every merge.
  [[nodiscard]] bool slab_unmergeable(const Cache& s) const;
  // find_mergeable() (mm/slab_common.c, v5.10-v6.1): the cache a create of `size`, `align` and
  // `flags` may share, walking slab_caches from its tail (list_for_each_entry_reverse, so the
  // oldest match wins): mergeable, the same SLAB_MERGE_SAME flags, s->size at least the aligned
  // size, less than a word more, and a multiple of the alignment. nullptr when none.
  [[nodiscard]] Cache* find_mergeable(unsigned size, unsigned align, const CacheFlags& flags) const;
  void set_slab_nomerge(bool on) { slab_nomerge_ = on; }
  [[nodiscard]] bool slab_nomerge() const { return slab_nomerge_; }
  // The listed cache of that name, or nullptr.
  [[nodiscard]] Cache* find_cache(const std::string& name) const;
  // list_add(&s->list, &slab_caches): create_cache(), and the boot caches of kmem_cache_init().
  void list_add(Cache* s);
  // The id of a struct kmem_cache being made, in creation order, boot caches included.
  std::uint64_t new_cache_id() { return next_cache_id_++; }

  // Takes `steps` in order (each a global lock, instance 0) / releases them in reverse.
  void lock_steps(const std::vector<LockStep>& steps, const char* function);
  void unlock_steps(const std::vector<LockStep>& steps);

  // Records a violation once per distinct (function, what), at the current time.
  void violation(int cpu, const char* function, std::string what,
                 ViolationKind kind = ViolationKind::other);
  // The same for a broken invariant, recorded once however many check points find it.
  void invariant_violation(int cpu, const char* function, std::string what,
                           ViolationKind kind = ViolationKind::other);
  [[nodiscard]] std::size_t violation_count() const { return violations_.size(); }
  // pr_err()/pr_warn().
  void log(std::string message) { kernel_log_.push_back(std::move(message)); }

  [[nodiscard]] const Strategy& strategy() const { return strategy_; }
  [[nodiscard]] const std::vector<Violation>& violations() const { return violations_; }
  // Messages the kernel would print (pr_err/pr_warn), in order.
  [[nodiscard]] const std::vector<std::string>& kernel_log() const { return kernel_log_; }

 private:
  // shutdown_cache(): __kmem_cache_shutdown(), then off slab_caches and (before v6.0) released.
  int shutdown_cache(Cache* s);
  // kmem_cache_release(): sysfs_slab_unlink() and the allocator's release of the struct.
  void kmem_cache_release(Cache* s);
  // The work that releases SLAB_TYPESAFE_BY_RCU caches after rcu_barrier().
  void slab_caches_to_rcu_destroy_workfn();

  Allocator& allocator_;
  Environment& env_;
  Strategy strategy_;
  std::vector<Cache*> slab_caches_;
  // slab_caches_to_rcu_destroy: shut down SLAB_TYPESAFE_BY_RCU caches waiting for the work.
  std::vector<Cache*> slab_caches_to_rcu_destroy_;
  bool rcu_destroy_work_queued_ = false;
  std::uint64_t next_cache_id_ = 0;
  // slab_nomerge: !IS_ENABLED(CONFIG_SLAB_MERGE_DEFAULT), which is y by default (the kernel
  // merges).
  bool slab_nomerge_ = false;
  std::vector<Violation> violations_;
  std::set<std::string> reported_;  // keys of violations already recorded
  std::vector<std::string> kernel_log_;
};

// Where a model's invariant check records what it finds: SlabCommon::invariant_violation() at
// one check point (the CPU it runs on and where it runs), each distinct problem once.
class InvariantReport {
 public:
  InvariantReport(SlabCommon& common, int cpu, const char* function)
      : common_(common), cpu_(cpu), function_(function), before_(common.violation_count()) {}
  void operator()(std::string what, ViolationKind kind = ViolationKind::other) const {
    common_.invariant_violation(cpu_, function_, std::move(what), kind);
  }
  // The violations recorded since this report was made.
  [[nodiscard]] int recorded() const {
    return static_cast<int>(common_.violation_count() - before_);
  }

 private:
  SlabCommon& common_;
  int cpu_;
  const char* function_;
  std::size_t before_;
};

// print_slabinfo_header(): the version line and the column names, each line ending in '\n';
// with CONFIG_DEBUG_SLAB (`debug_slab`) version "2.1 (statistics)" and SLAB's statistics columns.
std::string print_slabinfo_header(bool debug_slab);

// cache_show(): one row from the allocator's get_slabinfo(), "%-17s %6lu %6lu %6u %4u %4d :
// tunables %4u %4u %4u : slabdata %6lu %6lu %6lu" (name, active_objs, num_objs, s->size,
// objperslab, pagesperslab = 1 << order, ...), then slabinfo_show_stats() and '\n'. Names
// longer than 17 characters are not cut.
std::string cache_show(const Cache& s, const SlabinfoSource& source);

}  // namespace slabsim::alloc
