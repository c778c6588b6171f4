#include "allocator/cache_layout.hpp"

namespace slabsim::alloc {

std::string_view layout_type_name(LayoutType type) {
  switch (type) {
    case LayoutType::number:
      return "number";
    case LayoutType::flags:
      return "flags";
    case LayoutType::cache:
      return "cache";
  }
  return "?";
}

std::vector<LayoutValue> cache_layout(const std::vector<LayoutField>& fields, const Cache& s,
                                      std::string_view requested) {
  std::vector<LayoutValue> values;
  values.reserve(fields.size());
  for (const auto& f : fields)
    values.push_back(f.value(s, requested));
  return values;
}

std::optional<std::string> merged_into(const Cache& s, std::string_view requested) {
  if (s.name == requested) return std::nullopt;
  return s.name;
}

std::vector<std::string> slab_flag_names(const CacheFlags& flags, CacheCreateMask mask) {
  std::vector<std::string> names;
  const bool debug = mask.debug_flags;
  if (debug && flags.red_zone) names.emplace_back("SLAB_RED_ZONE");
  if (debug && flags.poison) names.emplace_back("SLAB_POISON");
  if (flags.hwcache_align) names.emplace_back("SLAB_HWCACHE_ALIGN");
  if (flags.cache_dma) names.emplace_back("SLAB_CACHE_DMA");
  if (debug && flags.store_user) names.emplace_back("SLAB_STORE_USER");
  if (mask.cache_flags && flags.reclaim_account) names.emplace_back("SLAB_RECLAIM_ACCOUNT");
  if (flags.typesafe_by_rcu) names.emplace_back("SLAB_TYPESAFE_BY_RCU");
  if (mask.cache_flags && flags.account) names.emplace_back("SLAB_ACCOUNT");
  return names;
}

}  // namespace slabsim::alloc
