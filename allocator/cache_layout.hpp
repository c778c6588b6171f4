// A cache's layout as kmem_cache_create() set it up: the fields of the allocator's struct
// kmem_cache that decide how objects lie in slabs and how many are kept cached, under the
// kernel's names. Each allocator declares its fields once (layout_fields()); the result JSON,
// its documentation and Python's frame all read that declaration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/cache.hpp"
#include "allocator/slab_flags.hpp"

namespace slabsim::alloc {

// How a field's value is written.
enum class LayoutType {
  number,  // an unsigned integer; absent where the kernel version has no such field
  flags,   // s->flags as the kernel's names, in bit order ("SLAB_HWCACHE_ALIGN")
  cache,   // the name of another cache, or null
};

// "number", "flags", "cache": as Python and the documentation name the types.
std::string_view layout_type_name(LayoutType type);

struct LayoutValue {
  std::optional<std::uint64_t> number = {};  // LayoutType::number; nullopt: the version lacks it
  std::vector<std::string> flags = {};       // LayoutType::flags
  std::optional<std::string> cache = {};     // LayoutType::cache; nullopt: null
  bool operator==(const LayoutValue&) const = default;
};

// One field of an allocator's layout.
struct LayoutField {
  std::string_view name;  // the kernel's name: a sysfs file, a struct or slabinfo field
  LayoutType type = LayoutType::number;
  std::string_view kernel;  // where the kernel keeps or shows it
  // Its value for the cache `s` that kmem_cache_create(requested, ...) returned.
  LayoutValue (*value)(const Cache& s, std::string_view requested) = nullptr;
};

// One value per field of `fields`, in order, taken now.
std::vector<LayoutValue> cache_layout(const std::vector<LayoutField>& fields, const Cache& s,
                                      std::string_view requested);

// mm/slab_common.c: kmem_cache_create_usercopy() returns the cache __kmem_cache_alias() found
// instead of making one when a mergeable cache exists, and the caller's name becomes an alias
// of it: the name of that cache when it is not `requested`, else nullopt (not merged).
std::optional<std::string> merged_into(const Cache& s, std::string_view requested);

// Which groups of flags kmem_cache_create_usercopy()'s `flags &= CACHE_CREATE_MASK` keeps
// (mm/slab.h): SLAB_CORE_FLAGS always; SLAB_DEBUG_FLAGS with CONFIG_DEBUG_SLAB or
// CONFIG_SLUB_DEBUG; SLAB_CACHE_FLAGS (SLAB_RECLAIM_ACCOUNT here) with CONFIG_SLAB or
// CONFIG_SLUB. SLOB keeps only the core flags.
struct CacheCreateMask {
  bool debug_flags = true;
  bool cache_flags = true;
};

// The kernel's names of the model's flags that `mask` keeps, in the bit order of
// include/linux/slab.h: SLAB_RED_ZONE 0x400, SLAB_POISON 0x800, SLAB_HWCACHE_ALIGN 0x2000,
// SLAB_CACHE_DMA 0x4000, SLAB_STORE_USER 0x10000, SLAB_RECLAIM_ACCOUNT 0x20000,
// SLAB_TYPESAFE_BY_RCU 0x80000, SLAB_ACCOUNT 0x4000000. A constructor is no flag.
std::vector<std::string> slab_flag_names(const CacheFlags& flags, CacheCreateMask mask);

}  // namespace slabsim::alloc
