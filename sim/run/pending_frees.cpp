#include "run/pending_frees.hpp"

#include <fmt/format.h>

#include <new>
#include <stdexcept>

namespace slabsim::sim {

std::size_t FreeOrigins::Hash::operator()(const FreeOrigin& o) const {
  std::size_t h = std::hash<const void*>{}(o.owner);
  for (const std::size_t v :
       {static_cast<std::size_t>(o.group), static_cast<std::size_t>(o.owner_cpu),
        static_cast<std::size_t>(o.node)})
    h = h * 0x9E3779B97F4A7C15ull + v;
  return h;
}

std::uint32_t FreeOrigins::id(const FreeOrigin& origin) {
  const auto [it, added] = ids_.try_emplace(origin, static_cast<std::uint32_t>(origins_.size()));
  if (added) {
    if (origins_.size() >> id_bits != 0) {
      ids_.erase(it);
      throw std::length_error(fmt::format(
          "slabsim holds at most {} distinct (cache, thread group, CPU, node) origins of live "
          "objects in one run",
          std::uint64_t{1} << id_bits));
    }
    origins_.push_back(origin);
  }
  return it->second;
}

void FreeHeap::grow() {
  const std::size_t capacity = capacity_ + capacity_ / 8 + 16;
  void* data = std::realloc(data_, capacity * sizeof(FreeAt));
  if (data == nullptr) throw std::bad_alloc();
  data_ = static_cast<FreeAt*>(data);
  capacity_ = capacity;
}

void FreeAt::too_large(std::uint64_t seq, const alloc::ObjectRef& o) {
  if (seq >> seq_bits != 0)
    throw std::length_error(fmt::format("slabsim makes at most {} allocations in one run",
                                        std::uint64_t{1} << seq_bits));
  throw std::length_error(fmt::format(
      "a model slab at host address {} with object index {} does not fit a pending free's {} "
      "and {} bits",
      o.slab, o.index, slab_bits, 64 - slab_bits));
}

}  // namespace slabsim::sim
