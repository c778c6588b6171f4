// Objects some CPU will free, in one pool: each CPU's heap of due frees holds only when and
// which slot (small entries keep the heap, touched on every operation, cheap).
#pragma once

#include <boost/heap/d_ary_heap.hpp>
#include <cstdint>
#include <functional>
#include <vector>

#include "allocator/allocator.hpp"

namespace slabsim::sim {

struct PendingFree {
  void* slab;
  alloc::Cache* owner;  // the struct the object came from, even one destroyed since (SLOB)
  std::uint16_t index;
  std::uint16_t node;
  std::uint32_t cache;  // the workload's
  std::uint32_t group;  // the allocating thread group and CPU, whose live count it is in
  int owner_cpu;
  [[nodiscard]] alloc::ObjectRef object() const { return {slab, index, node}; }
};

struct FreeAt {
  std::int64_t at;
  std::uint64_t seq;   // ties broken by allocation order, for determinism
  std::uint32_t slot;  // in PendingFrees
  bool operator>(const FreeAt& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

// 4-ary: shallower than a binary heap, for the pop and push of every operation.
using FreeHeap =
    boost::heap::d_ary_heap<FreeAt, boost::heap::arity<4>, boost::heap::compare<std::greater<>>>;

class PendingFrees {
 public:
  std::uint32_t add(const PendingFree& f) {
    if (free_slots_.empty()) {
      pool_.push_back(f);
      return static_cast<std::uint32_t>(pool_.size() - 1);
    }
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    pool_[slot] = f;
    return slot;
  }
  [[nodiscard]] const PendingFree& at(std::uint32_t slot) const { return pool_[slot]; }
  // The object, whose slot is free for the next one.
  PendingFree take(std::uint32_t slot) {
    free_slots_.push_back(slot);
    return pool_[slot];
  }

 private:
  std::vector<PendingFree> pool_;
  std::vector<std::uint32_t> free_slots_;
};

}  // namespace slabsim::sim
