// Simulated CPU time of the allocator's own work, in ns, on top of memory accesses (charged
// through Environment::touch_memory with the latency matrix) and lock waits (emerging from
// contention). Defaults are order-of-magnitude figures: the fast-path pair follows J. D. Brouer's
// measurement of SLUB kmem_cache_alloc+free at 42-47 cycles (10.5-11.9 ns at 4 GHz) and
// local_irq_save/restore at ~9.4 ns (reference/hardware-numbers.md section 3.4); the rest are
// choices of this model, named so that a user can change them.
#pragma once

#include <cstdint>

namespace slabsim::alloc {

struct SlubCosts {
  std::int64_t alloc_fastpath = 6;      // slab_alloc_node() hit
  std::int64_t free_fastpath = 5;       // do_slab_free() into the cpu slab
  std::int64_t slowpath_entry = 10;     // local_irq_save/restore plus the checks of ___slab_alloc
  std::int64_t free_slowpath = 10;      // __slab_free() bookkeeping
  std::int64_t list_update = 5;         // add_partial()/remove_partial() under list_lock
  std::int64_t object_move = 2;         // moving one object between freelists
  std::int64_t cmpxchg_double = 5;      // one cmpxchg_double of a slab's freelist and counters
  std::int64_t new_slab = 250;          // page allocator call plus struct page set-up
  std::int64_t object_setup = 2;        // setup_object() per object of a new slab
  std::int64_t discard_slab = 150;      // freeing a slab's pages
  std::int64_t count_partial_slab = 5;  // count_partial() per slab on the list
  // kmem_cache_create()'s own work inside slab_mutex, beyond the struct and node structs it
  // allocates (all choices of this model, order-of-magnitude):
  std::int64_t alloc_percpu = 1500;  // alloc_kmem_cache_cpus(): __alloc_percpu(), pcpu_alloc()
  std::int64_t init_cpu_slab = 5;    // init_kmem_cache_cpus(): init_tid() per possible CPU
  std::int64_t init_kmem_cache_node = 20;  // init_kmem_cache_node(): lock, counters, lists
  // sysfs_slab_add() at slab_state FULL: kobject_init_and_add() of the directory and
  // kobject_uevent(KOBJ_ADD), which builds the environment and broadcasts it over netlink ...
  std::int64_t sysfs_directory = 10000;
  // ... and sysfs_create_group(&slab_attr_group): one kernfs_create_file() (a kernfs_node
  // allocated, linked under kernfs_rwsem) per attribute file (sysfs_file_names()).
  std::int64_t sysfs_file = 800;
  // sysfs_slab_alias() at slab_state FULL: sysfs_create_link() for a merged create.
  std::int64_t sysfs_link = 1000;
};

}  // namespace slabsim::alloc
