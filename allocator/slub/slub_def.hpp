// SLUB's data structures (include/linux/slub_def.h, mm/slab.h, the slab part of struct page;
// v5.10–v5.12). Objects are handles (slab, index): the model keeps no payload memory, only
// each free object's free pointer, as an index.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slub/kmem_cache_open.hpp"
#include "allocator/slub/stat_item.hpp"

namespace slabsim::alloc {

struct KmemCache;
inline constexpr std::uint16_t no_object = 0xFFFF;  // a NULL free pointer
// TID_STEP with CONFIG_PREEMPTION: roundup_pow_of_two(CONFIG_NR_CPUS), 8192 on Debian.
inline constexpr std::uint64_t tid_step = 8192;

// The slab fields of struct page.
struct Slab {
  KmemCache* cache = nullptr;          // page->slab_cache
  PageBlockRef pages;                  // where the slab's pages are: page_to_nid() is pages.node
  std::uint16_t objects = 0;           // page->objects
  std::uint16_t inuse = 0;             // page->inuse
  bool frozen = false;                 // page->frozen: owned by one CPU, on no node list
  std::uint16_t freelist = no_object;  // page->freelist (objects freed while not the cpu freelist)
  // Bumped on every change of freelist/counters: a __cmpxchg_double_slab() whose snapshot is
  // older fails, as it does in the kernel when another CPU changed the slab meanwhile.
  std::uint32_t version = 0;
  // page->slab_list on node lists, or page->next on a cpu partial chain.
  Slab* prev = nullptr;
  Slab* next = nullptr;
  int chain_pages = 0;     // page->pages: slabs in the cpu partial chain from this one
  int chain_pobjects = 0;  // page->pobjects: approximate free objects in that chain
  // rcu_free: discarded, its pages waiting for rcu_free_slab() (no longer the cache's slab).
  enum class Where : std::uint8_t {
    cpu_slab,
    cpu_partial,
    node_partial,
    node_full,
    none,
    rcu_free
  };
  Where where = Where::none;                // model bookkeeping for the invariant checker
  std::uint64_t serial = 0;                 // creation order, for deterministic reports
  std::vector<std::uint16_t> free_pointer;  // get_freepointer() of each object
};

// An allocated object: what kmem_cache_alloc() returns.
struct Object {
  Slab* slab = nullptr;
  std::uint16_t index = 0;
  explicit operator bool() const { return slab != nullptr; }
  bool operator==(const Object&) const = default;
};

// The allocator interface's handle of an object (with page_to_nid()), and back.
inline ObjectRef object_ref(Object o) {
  return o ? ObjectRef{o.slab, o.index, o.slab->pages.node} : ObjectRef{};
}
inline Object slub_object(ObjectRef x) {
  return {static_cast<Slab*>(x.slab), static_cast<std::uint16_t>(x.index)};
}

// An intrusive doubly linked list of slabs (struct list_head), head to tail.
class SlabList {
 public:
  void push_front(Slab* s);
  void push_back(Slab* s);
  void remove(Slab* s);
  [[nodiscard]] Slab* front() const { return head_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const { return size_; }
  // Moves every slab of `other` in front of this list's head (list_splice).
  void splice_front(SlabList& other);

 private:
  Slab* head_ = nullptr;
  Slab* tail_ = nullptr;
  std::size_t size_ = 0;
};

struct KmemCacheCpu {
  std::uint16_t freelist = no_object;  // lockless per-CPU freelist, objects of `page`
  Slab* page = nullptr;                // the cpu slab (frozen)
  Slab* partial = nullptr;             // chain of frozen per-CPU partial slabs
  std::uint64_t tid = 0;               // transaction id
  std::array<std::uint64_t, NR_SLUB_STAT_ITEMS> stat{};  // CONFIG_SLUB_STATS
};

struct KmemCacheNode {
  int node = 0;
  std::uint64_t lock_instance = 0;  // identifies this list_lock to the environment
  SlabList partial;
  unsigned long nr_partial = 0;
  SlabList full;  // only with SLAB_STORE_USER
  // CONFIG_SLUB_DEBUG counters, updated without list_lock at slab allocation and discard.
  long nr_slabs = 0;
  long total_objects = 0;
  // v5.10 frees the struct when the node goes offline. The model keeps it as a tombstone so a
  // user that still holds it is reported as a use-after-free instead of crashing the model.
  bool freed = false;
  Object backing;  // the kmem_cache_node object this struct lives in (none for boot caches)
};

struct KmemCache : Cache {
  CacheSettings s;
  std::vector<KmemCacheCpu> cpu_slab;  // every possible CPU (never touched by CPU hotplug)
  std::vector<KmemCacheNode*> node;    // get_node(): nr_node_ids entries, nullptr when missing
  std::vector<std::unique_ptr<KmemCacheNode>> node_store;  // owns live and freed structs
  Object backing;  // the kmem_cache object this struct lives in (none for boot caches)

  // Model metrics beyond the kernel's counters.
  std::uint64_t remote_allocs = 0;  // object on another node than the allocating CPU's
  std::uint64_t remote_frees = 0;   // object on another node than the freeing CPU's
  std::uint64_t allocs = 0, frees = 0;
  // Slabs discarded whose pages wait for an RCU grace period (SLAB_TYPESAFE_BY_RCU: free_slab()).
  std::uint64_t rcu_pending_slabs = 0;
  // /sys/kernel/slab/<name> leads here (SlabSysfs::sysfs_slab_linked()).
  bool in_sysfs = false;

  [[nodiscard]] KmemCacheNode* get_node(int nid) const { return node[nid]; }
  [[nodiscard]] std::uint64_t stat_total(StatItem item) const;
};

}  // namespace slabsim::alloc
