#include "allocator/kmalloc_caches.hpp"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <string>
#include <utility>

namespace slabsim::alloc {

namespace {

// kmalloc_info[] index 1 and 2 hold the two sizes that are not powers of two.
constexpr unsigned kmalloc_96_index = 1;
constexpr unsigned kmalloc_192_index = 2;

unsigned kmalloc_index_size(unsigned index) {
  if (index == kmalloc_96_index) return 96;
  if (index == kmalloc_192_index) return 192;
  return 1U << index;
}

constexpr std::array<std::pair<KmallocType, std::string_view>, 4> prefixes{{
    {KmallocType::normal, "kmalloc-"},
    {KmallocType::reclaim, "kmalloc-rcl-"},
    {KmallocType::dma, "dma-kmalloc-"},
    {KmallocType::cgroup, "kmalloc-cg-"},
}};

// new_kmalloc_cache(): the flags and refcount of one type.
KmallocCache make_cache(const KmallocFamily& family, KmallocType type, unsigned index) {
  KmallocCache c;
  c.size = kmalloc_index_size(index);
  c.type = type;
  c.name = kmalloc_cache_name(type, c.size);
  c.flags = family.flags;
  switch (type) {
    case KmallocType::normal:
      if (family.normal_refcount_minus_one) c.refcount = -1;
      break;
    case KmallocType::reclaim:
      c.flags.reclaim_account = true;
      break;
    case KmallocType::dma:
      c.flags.cache_dma = true;
      break;
    case KmallocType::cgroup:
      c.flags.account = true;
      break;
  }
  return c;
}

}  // namespace

KmallocFamily slub_kmalloc_family(SlubVersion version) {
  KmallocFamily f;
  f.shift_low = 3;    // KMALLOC_MIN_SIZE 8 on x86_64
  f.shift_high = 13;  // PAGE_SHIFT + 1: larger requests go to the page allocator
  if (version == SlubVersion::v6_1) {
    // enum kmalloc_cache_type of v5.14-v6.1: NORMAL, CGROUP, RECLAIM, DMA.
    f.types = {KmallocType::normal, KmallocType::cgroup, KmallocType::reclaim, KmallocType::dma};
    f.normal_refcount_minus_one = true;
  } else {
    f.types = {KmallocType::normal, KmallocType::reclaim};
    f.dma_after = true;
  }
  return f;
}

KmallocFamily slab_kmalloc_family() {
  KmallocFamily f;
  f.shift_low = 5;    // ilog2(KMALLOC_MIN_SIZE) with SLAB: 32 bytes
  f.shift_high = 22;  // MAX_ORDER 11 + PAGE_SHIFT 12 - 1: kmalloc-4M
  f.types = {KmallocType::normal, KmallocType::reclaim};
  f.dma_after = true;
  f.flags.hwcache_align = true;  // ARCH_KMALLOC_FLAGS
  return f;
}

std::vector<KmallocCache> kmalloc_boot_caches(const KmallocFamily& family) {
  std::vector<KmallocCache> caches;
  // The 96- and 192-byte caches come right after the 64- and 128-byte ones
  // (KMALLOC_MIN_SIZE <= 32 and <= 64).
  const auto one_type = [&](KmallocType type) {
    for (unsigned i = family.shift_low; i <= family.shift_high; ++i) {
      caches.push_back(make_cache(family, type, i));
      if (i == 6 && family.shift_low <= 5) caches.push_back(make_cache(family, type, 1));
      if (i == 7 && family.shift_low <= 6) caches.push_back(make_cache(family, type, 2));
    }
  };
  for (KmallocType type : family.types)
    one_type(type);
  if (family.dma_after) {
    // `for (i = 0; i <= KMALLOC_SHIFT_HIGH; i++)` over the KMALLOC_NORMAL caches made.
    for (unsigned i = 1; i <= family.shift_high; ++i)
      if (i >= family.shift_low || (i == kmalloc_96_index && family.shift_low <= 5) ||
          (i == kmalloc_192_index && family.shift_low <= 6))
        caches.push_back(make_cache(family, KmallocType::dma, i));
  }
  return caches;
}

std::string kmalloc_cache_name(KmallocType type, unsigned size) {
  std::string_view prefix;
  for (const auto& [t, p] : prefixes)
    if (t == type) prefix = p;
  // INIT_KMALLOC_INFO(): bytes below 1k, then "k" and "M" units.
  if (size >= (1U << 20)) return fmt::format("{}{}M", prefix, size >> 20);
  if (size >= (1U << 10)) return fmt::format("{}{}k", prefix, size >> 10);
  return fmt::format("{}{}", prefix, size);
}

unsigned kmalloc_cache_size(std::string_view name) {
  for (const auto& [type, prefix] : prefixes) {
    if (!name.starts_with(prefix)) continue;
    std::string_view rest = name.substr(prefix.size());
    unsigned shift = 0;
    if (rest.ends_with('k')) shift = 10;
    if (rest.ends_with('M')) shift = 20;
    if (shift) rest.remove_suffix(1);
    if (rest.empty() || rest.size() > 4 || rest.front() == '0' ||
        rest.find_first_not_of("0123456789") != std::string_view::npos)
      continue;
    const unsigned size = static_cast<unsigned>(std::stoul(std::string(rest))) << shift;
    // kmalloc_info[]: 96, 192 and the powers of two from 8 up to 64M; the unit is the largest
    // that divides (1024 is "1k").
    const bool listed = size == 96 || size == 192 || (size >= 8 && std::has_single_bit(size));
    if (listed && size <= (64U << 20) && kmalloc_cache_name(type, size) == name) return size;
  }
  return 0;
}

bool is_kmalloc_cache_name(std::string_view name) {
  return kmalloc_cache_size(name) != 0;
}

unsigned slub_kmalloc_size(unsigned size) {
  const KmallocFamily f = slub_kmalloc_family(SlubVersion::v6_1);
  if (size > (1U << f.shift_high)) return 0;
  if (size <= (1U << f.shift_low)) return 1U << f.shift_low;
  if (size > 64 && size <= 96) return 96;
  if (size > 128 && size <= 192) return 192;
  return std::bit_ceil(size);
}

}  // namespace slabsim::alloc
