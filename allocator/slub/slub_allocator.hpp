// SLUB behind the Allocator interface: the Slub model (slub.hpp) with the simulator's view of its
// caches, objects and statistics.
#pragma once

#include "allocator/allocator.hpp"
#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

class SlubAllocator final : public Allocator {
 public:
  SlubAllocator(Environment& env, PageAllocator& pages, NodeStates& states, Strategy strategy,
                SlubBootParams params = {}, SlubCosts costs = {})
      : slub_(env, pages, states, std::move(strategy), params, costs) {}

  [[nodiscard]] Slub& slub() { return slub_; }
  [[nodiscard]] AllocatorKind kind() const override { return AllocatorKind::slub; }

  Cache* kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                           CacheFlags flags) override {
    return slub_.kmem_cache_create(name, object_size, align, flags);
  }
  int kmem_cache_destroy(Cache* s) override { return slub_.kmem_cache_destroy(cache(s)); }
  int kmem_cache_shrink(Cache* s) override { return slub_.kmem_cache_shrink(cache(s)); }

  ObjectRef kmem_cache_alloc(Cache* s, Gfp gfp) override {
    return ref(slub_.kmem_cache_alloc(cache(s), gfp));
  }
  ObjectRef kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) override {
    return ref(slub_.kmem_cache_alloc_node(cache(s), gfp, node));
  }
  void kmem_cache_free(Cache* s, ObjectRef x) override {
    slub_.kmem_cache_free(cache(s),
                          {static_cast<Slab*>(x.slab), static_cast<std::uint16_t>(x.index)});
  }

  [[nodiscard]] bool has_memory_callback() const override { return true; }
  int memory_callback(MemoryAction action, const MemoryNotify& arg) override {
    return slub_.slab_memory_callback(action, arg);
  }
  int cpu_up_prepare(int) override { return 0; }  // SLUB has no CPUHP prepare step
  void cpu_dead(int cpu) override { slub_.slub_cpu_dead(cpu); }

  [[nodiscard]] bool has_sysfs() const override { return true; }
  std::optional<std::string> sysfs_show(Cache* s, std::string_view file,
                                        const std::vector<bool>& online_cpus) override {
    return slub_.sysfs_show(cache(s), file, online_cpus);
  }

  [[nodiscard]] bool node_usable(int nid) const override { return slub_.node_usable(nid); }
  [[nodiscard]] NodeStructCounts hotplug_node_structs() const override {
    return slub_.hotplug_node_structs();
  }
  [[nodiscard]] CacheReport cache_report(const Cache* s,
                                         const std::vector<bool>& online_cpus) const override;
  [[nodiscard]] std::uint64_t slabs_allocated() const override;
  [[nodiscard]] std::string proc_slabinfo() const override;
  int check_invariants(const char* function) override { return slub_.check_invariants(function); }
  [[nodiscard]] const std::vector<Violation>& violations() const override {
    return slub_.violations();
  }
  [[nodiscard]] const std::vector<std::string>& kernel_log() const override {
    return slub_.kernel_log();
  }

 private:
  static KmemCache* cache(Cache* s) { return static_cast<KmemCache*>(s); }
  static ObjectRef ref(Object o) {
    return o ? ObjectRef{o.slab, o.index, o.slab->pages.node} : ObjectRef{};
  }

  Slub slub_;
};

}  // namespace slabsim::alloc
