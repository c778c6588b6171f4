// Objects some CPU will free. Every live object of a run has one entry in the heap of the CPU
// that will free it, so the entry's size is most of the host memory a live object costs: 24
// bytes, the time and two words packing the object and where it came from, the few distinct
// places objects come from interned apart (FreeOrigins).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "allocator/allocator.hpp"

namespace slabsim::sim {

// Where a pending free came from: the struct its object came from (even one destroyed since:
// SLOB), the allocating thread group and CPU (whose live count it is in), the object's node.
struct FreeOrigin {
  alloc::Cache* owner = nullptr;
  std::uint32_t group = 0;
  int owner_cpu = 0;
  int node = 0;
  bool operator==(const FreeOrigin&) const = default;
};

// Interned origins: a run has a few (structs x thread groups x CPUs x nodes it allocates on).
class FreeOrigins {
 public:
  static constexpr int id_bits = 24;

  // Throws std::length_error past 2^24 distinct origins.
  std::uint32_t id(const FreeOrigin& origin);
  [[nodiscard]] const FreeOrigin& operator[](std::uint32_t id) const { return origins_[id]; }

 private:
  struct Hash {
    std::size_t operator()(const FreeOrigin& o) const;
  };
  std::vector<FreeOrigin> origins_;
  std::unordered_map<FreeOrigin, std::uint32_t, Hash> ids_;
};

// An object to free at `at`. Ties are broken by allocation order (`seq`), for determinism.
struct FreeAt {
  static constexpr int seq_bits = 64 - FreeOrigins::id_bits;

  // Throws std::length_error for a seq past 2^40 (allocations in one run), an object index past
  // 2^16 or a slab address past 2^48 (beyond any x86-64 or arm64 user address with 4-level
  // tables).
  FreeAt(std::int64_t at, std::uint64_t seq, std::uint32_t origin, const alloc::ObjectRef& o)
      : at(at),
        seq_origin(seq << FreeOrigins::id_bits | origin),
        slab_index(reinterpret_cast<std::uintptr_t>(o.slab) | static_cast<std::uint64_t>(o.index)
                                                                  << slab_bits) {
    if (seq >> seq_bits != 0 || reinterpret_cast<std::uintptr_t>(o.slab) >> slab_bits != 0 ||
        o.index >> (64 - slab_bits) != 0)
      too_large(seq, o);
  }

  [[nodiscard]] std::uint32_t origin() const {
    return static_cast<std::uint32_t>(seq_origin & ((1u << FreeOrigins::id_bits) - 1));
  }
  // The object, with the node its origin gives.
  [[nodiscard]] alloc::ObjectRef object(int node) const {
    return {reinterpret_cast<void*>(static_cast<std::uintptr_t>(slab_index & slab_mask)),
            static_cast<std::uint32_t>(slab_index >> slab_bits), node};
  }
  bool operator>(const FreeAt& o) const {
    return at != o.at ? at > o.at : seq_origin > o.seq_origin;
  }

  std::int64_t at;
  std::uint64_t seq_origin;  // seq in the high 40 bits, so that it alone orders equal `at`s
  std::uint64_t slab_index;  // the slab's address (low 48 bits), the object's index (high 16)

 private:
  static constexpr int slab_bits = 48;
  static constexpr std::uint64_t slab_mask = (std::uint64_t{1} << slab_bits) - 1;
  [[noreturn]] static void too_large(std::uint64_t seq, const alloc::ObjectRef& o);
};
static_assert(sizeof(FreeAt) == 24);
static_assert(std::is_trivially_copyable_v<FreeAt>);  // moved by realloc()

// The frees one CPU has due, earliest first: a 4-ary heap (shallower than a binary one, for the
// pop and push of every operation). Its array grows by an eighth at a time through realloc(),
// which for a large block moves pages (mremap) instead of copying them, so that its spare room
// stays small without making growth slow.
class FreeHeap {
 public:
  FreeHeap() = default;
  ~FreeHeap() { std::free(data_); }
  FreeHeap(FreeHeap&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  FreeHeap& operator=(FreeHeap&&) = delete;
  FreeHeap(const FreeHeap&) = delete;
  FreeHeap& operator=(const FreeHeap&) = delete;

  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] const FreeAt& top() const { return data_[0]; }

  void push(const FreeAt& f) {
    if (size_ == capacity_) grow();
    std::size_t i = size_++;
    while (i > 0) {
      const std::size_t parent = (i - 1) / arity;
      if (!(data_[parent] > f)) break;
      data_[i] = data_[parent];
      i = parent;
    }
    data_[i] = f;
  }

  void pop() {
    const FreeAt last = data_[--size_];
    if (size_ == 0) return;
    std::size_t i = 0;
    for (std::size_t first = 1; first < size_; first = arity * i + 1) {
      const std::size_t end = std::min(first + arity, size_);
      std::size_t least = first;
      for (std::size_t c = first + 1; c < end; ++c)
        if (data_[least] > data_[c]) least = c;
      if (!(last > data_[least])) break;
      data_[i] = data_[least];
      i = least;
    }
    data_[i] = last;
  }

 private:
  static constexpr std::size_t arity = 4;
  void grow();  // throws std::bad_alloc

  FreeAt* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace slabsim::sim
