// SLUB's get_slabinfo() and /sys/kernel/slab/<cache>/ as SLUB prints them (mm/slub.c,
// v5.10-v5.12), read from the model's state; and the sysfs part of the allocator:
// slab_attr_show() with the locks a read takes, sysfs_slab_unlink().
#include "allocator/slub/slub_sysfs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

namespace {

// The room a sysfs show function has: one page.
constexpr std::size_t sysfs_buffer = page_size;

// The flags of enum slab_stat_type that the show functions pass to show_slab_objects().
enum : unsigned {
  so_all = 1u << 0,      // SO_ALL: all slabs (the CONFIG_SLUB_DEBUG per-node counters)
  so_partial = 1u << 1,  // SO_PARTIAL: only the node partial lists
  so_cpu = 1u << 2,      // SO_CPU: only the cpu slabs and cpu partial chains
  so_objects = 1u << 3,  // SO_OBJECTS: objects in use instead of slabs
  so_total = 1u << 4,    // SO_TOTAL: object capacity instead of slabs
};

unsigned slab_objects_flags(SlabObjectsFile what) {
  switch (what) {
    case SlabObjectsFile::slabs:
      return so_all;
    case SlabObjectsFile::objects:
      return so_all | so_objects;
    case SlabObjectsFile::objects_partial:
      return so_partial | so_objects;
    case SlabObjectsFile::partial:
      return so_partial;
    case SlabObjectsFile::total_objects:
      return so_all | so_total;
    case SlabObjectsFile::cpu_slabs:
      return so_cpu;
    case SlabObjectsFile::slabs_cpu_partial:
      break;
  }
  return 0;
}

bool cpu_online(const std::vector<bool>& online_cpus, std::size_t cpu) {
  return cpu < online_cpus.size() && online_cpus[cpu];
}

std::size_t shown(std::span<const int> shown_as, std::size_t cpu) {
  return cpu < shown_as.size() ? static_cast<std::size_t>(shown_as[cpu]) : cpu;
}

// for_each_kmem_cache_node(): the live kmem_cache_node structs, by node id.
template <typename Fn>
void for_each_kmem_cache_node(const KmemCache& s, Fn&& fn) {
  for (std::size_t nid = 0; nid < s.node.size(); ++nid) {
    const KmemCacheNode* n = s.node[nid];
    if (n && !n->freed) fn(static_cast<int>(nid), *n);
  }
}

// count_partial(n, get_count): the sum of get_count(page) over the node partial list.
template <typename Fn>
std::uint64_t count_partial(const KmemCacheNode& n, Fn&& get_count) {
  std::uint64_t x = 0;
  for (const Slab* page = n.partial.front(); page; page = page->next)
    x += static_cast<std::uint64_t>(static_cast<std::int64_t>(get_count(*page)));
  return x;
}

int count_free(const Slab& page) {
  return page.objects - page.inuse;
}
int count_inuse(const Slab& page) {
  return page.inuse;
}
int count_total(const Slab& page) {
  return page.objects;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// /proc/slabinfo

// mm/slub.c: get_slabinfo(). Walks the cache's kmem_cache_node structs (for_each_kmem_cache_node:
// node ids 0..nr_node_ids-1, missing ones skipped) with the kernel's unsigned long arithmetic.
// SLUB only knows the free objects on node partial lists, so active_slabs = num_slabs; the
// tunables and shared_avail, SLAB's, stay 0; objperslab and order come from s->oo.
SlabInfo SlubAllocator::get_slabinfo(const Cache& c) const {
  const auto& s = static_cast<const KmemCache&>(c);
  std::uint64_t nr_slabs = 0;
  std::uint64_t nr_objs = 0;
  std::uint64_t nr_free = 0;
  for_each_kmem_cache_node(s, [&](int, const KmemCacheNode& n) {
    nr_slabs += static_cast<std::uint64_t>(n.nr_slabs);      // node_nr_slabs()
    nr_objs += static_cast<std::uint64_t>(n.total_objects);  // node_nr_objs()
    nr_free += count_partial(n, count_free);
  });
  SlabInfo info;
  info.active_objs = nr_objs - nr_free;
  info.num_objs = nr_objs;
  info.active_slabs = nr_slabs;
  info.num_slabs = nr_slabs;
  info.objects_per_slab = s.s.objects;
  info.cache_order = s.s.order;
  return info;
}

// ---------------------------------------------------------------------------------------------
// Stat files

std::string sysfs_stat_file(const KmemCache& s, StatItem item, const std::vector<bool>& online_cpus,
                            std::span<const int> shown_as) {
  const std::size_t nr_cpus = s.cpu_slab.size();
  std::vector<unsigned> data(nr_cpus, 0);
  std::vector<bool> printed(nr_cpus, false);
  std::uint64_t sum = 0;
  for (std::size_t cpu = 0; cpu < nr_cpus; ++cpu) {
    if (!cpu_online(online_cpus, cpu)) continue;
    const auto x = static_cast<unsigned>(s.cpu_slab[cpu].stat[item]);  // unsigned x = ...
    data[shown(shown_as, cpu)] += x;
    printed[shown(shown_as, cpu)] = true;
    sum += x;
  }
  std::string out = fmt::format("{}", sum);
  for (std::size_t cpu = 0; cpu < nr_cpus; ++cpu) {
    if (!printed[cpu]) continue;
    if (data[cpu] && out.size() < sysfs_buffer - 20) out += fmt::format(" C{}={}", cpu, data[cpu]);
  }
  out += '\n';
  return out;
}

// ---------------------------------------------------------------------------------------------
// show_slab_objects() and slabs_cpu_partial

std::string_view slab_objects_file_name(SlabObjectsFile what) {
  switch (what) {
    case SlabObjectsFile::slabs:
      return "slabs";
    case SlabObjectsFile::objects:
      return "objects";
    case SlabObjectsFile::objects_partial:
      return "objects_partial";
    case SlabObjectsFile::partial:
      return "partial";
    case SlabObjectsFile::total_objects:
      return "total_objects";
    case SlabObjectsFile::cpu_slabs:
      return "cpu_slabs";
    case SlabObjectsFile::slabs_cpu_partial:
      return "slabs_cpu_partial";
  }
  return "?";
}

std::string show_slab_objects(const KmemCache& s, SlabObjectsFile what) {
  return show_slab_objects(s, what, std::vector<bool>(s.cpu_slab.size(), true));
}

std::string show_slab_objects(const KmemCache& s, SlabObjectsFile what,
                              const std::vector<bool>& online_cpus, std::span<const int> shown_as) {
  if (what == SlabObjectsFile::slabs_cpu_partial)
    return slabs_cpu_partial_show(s, online_cpus, shown_as);
  const unsigned flags = slab_objects_flags(what);

  std::uint64_t total = 0;
  std::vector<std::uint64_t> nodes(s.node.size(), 0);  // kcalloc(nr_node_ids, ...)
  // The kernel keeps each value in an `int x` before adding it to the unsigned long sums.
  auto add = [&](int node, std::int64_t value) {
    const int x = static_cast<int>(value);
    const auto ux = static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
    total += ux;
    if (node >= 0) {
      if (static_cast<std::size_t>(node) >= nodes.size()) nodes.resize(node + 1, 0);
      nodes[node] += ux;
    }
  };

  if (flags & so_cpu) {
    // for_each_possible_cpu(): the model's cpu_slab has an entry for every possible CPU.
    for (const KmemCacheCpu& c : s.cpu_slab) {
      const Slab* page = c.page;
      if (!page) continue;  // a CPU with only cpu partial slabs is not counted at all
      std::int64_t x = 1;
      if (flags & so_total)
        x = page->objects;
      else if (flags & so_objects)
        x = page->inuse;
      add(page->pages.node, x);

      if (const Slab* partial = c.partial) {  // slub_percpu_partial_read_once()
        // The kernel WARNs for SO_TOTAL/SO_OBJECTS and adds the previous x again; only
        // cpu_slabs (plain SO_CPU) reaches here.
        if (!(flags & (so_total | so_objects))) x = partial->chain_pages;
        add(partial->pages.node, x);
      }
    }
  }

  if (flags & so_all) {
    for_each_kmem_cache_node(s, [&](int node, const KmemCacheNode& n) {
      std::int64_t x;
      if (flags & so_total)
        x = n.total_objects;
      else if (flags & so_objects)
        x = n.total_objects - static_cast<std::int64_t>(count_partial(n, count_free));
      else
        x = n.nr_slabs;
      add(node, x);
    });
  } else if (flags & so_partial) {
    for_each_kmem_cache_node(s, [&](int node, const KmemCacheNode& n) {
      std::int64_t x;
      if (flags & so_total)
        x = static_cast<std::int64_t>(count_partial(n, count_total));
      else if (flags & so_objects)
        x = static_cast<std::int64_t>(count_partial(n, count_inuse));
      else
        x = static_cast<std::int64_t>(n.nr_partial);
      add(node, x);
    });
  }

  std::string out = fmt::format("{}", total);
  for (std::size_t node = 0; node < nodes.size(); ++node)
    if (nodes[node]) out += fmt::format(" N{}={}", node, nodes[node]);
  out += '\n';
  return out;
}

// slabs_cpu_partial_show(): v5.12 prints the chains' pobjects; v6.1 (b47291ef02b0, v5.16) keeps no
// object count and prints slabs * objs_per_slab / 2, the half-full estimate of
// slub_set_cpu_partial().
std::string slabs_cpu_partial_show(const KmemCache& s, const std::vector<bool>& online_cpus,
                                   std::span<const int> shown_as) {
  const bool v6 = s.s.version == SlubVersion::v6_1;
  auto objects_of = [&](int pages, int pobjects) {
    return v6 ? pages * static_cast<int>(s.s.objects) / 2 : pobjects;
  };
  int objects = 0;
  int pages = 0;
  for (std::size_t cpu = 0; cpu < s.cpu_slab.size(); ++cpu) {
    if (!cpu_online(online_cpus, cpu)) continue;
    if (const Slab* page = s.cpu_slab[cpu].partial) {  // slub_percpu_partial()
      pages += page->chain_pages;
      objects += page->chain_pobjects;
    }
  }
  std::string out = fmt::format("{}({})", objects_of(pages, objects), pages);
  struct Column {
    bool has_chain = false;
    int pages = 0;
    int pobjects = 0;
  };
  std::vector<Column> columns(s.cpu_slab.size());
  for (std::size_t cpu = 0; cpu < s.cpu_slab.size(); ++cpu) {
    if (!cpu_online(online_cpus, cpu)) continue;
    if (const Slab* page = s.cpu_slab[cpu].partial) {
      Column& c = columns[shown(shown_as, cpu)];
      c.has_chain = true;
      c.pages += page->chain_pages;
      c.pobjects += page->chain_pobjects;
    }
  }
  for (std::size_t cpu = 0; cpu < columns.size(); ++cpu) {
    const Column& c = columns[cpu];
    if (c.has_chain && out.size() < sysfs_buffer - 20)
      out += fmt::format(" C{}={}({})", cpu, objects_of(c.pages, c.pobjects), c.pages);
  }
  out += '\n';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scalar files

SysfsAttributes sysfs_attributes(const KmemCache& s) {
  SysfsAttributes a;
  a.slab_size = s.s.size;
  a.object_size = s.s.object_size;
  a.objs_per_slab = s.s.objects;
  a.order = s.s.order;
  a.min_partial = s.s.min_partial;
  // slub_cpu_partial(): s->cpu_partial, which the model already sets to 0 without
  // CONFIG_SLUB_CPU_PARTIAL.
  a.cpu_partial = s.s.cpu_partial;
  a.aliases = s.refcount < 0 ? 0 : s.refcount - 1;
  a.align = s.s.align;
  a.remote_node_defrag_ratio = s.s.remote_node_defrag_ratio / 10;
  a.hwcache_align = s.flags.hwcache_align ? 1 : 0;
  a.reclaim_account = s.flags.reclaim_account ? 1 : 0;
  a.cache_dma = s.flags.cache_dma ? 1 : 0;
  a.destroy_by_rcu = s.flags.typesafe_by_rcu ? 1 : 0;
  a.red_zone = s.flags.red_zone ? 1 : 0;
  a.poison = s.flags.poison ? 1 : 0;
  a.store_user = s.flags.store_user ? 1 : 0;
  return a;
}

namespace {

const KmemCache& kmem_cache(const Cache& s) {
  return static_cast<const KmemCache&>(s);
}

// A field read from the show function of its sysfs file.
template <auto Field>
LayoutValue sysfs_value(const Cache& s, std::string_view) {
  return {.number = sysfs_attributes(kmem_cache(s)).*Field};
}

}  // namespace

const std::vector<LayoutField>& slub_layout_fields() {
  using A = SysfsAttributes;
  using T = LayoutType;
  static const std::vector<LayoutField> fields = {
      {"order", T::number, "order_show(): oo_order(s->oo)", sysfs_value<&A::order>},
      {"objs_per_slab", T::number, "objs_per_slab_show(): oo_objects(s->oo)",
       sysfs_value<&A::objs_per_slab>},
      {"object_size", T::number, "object_size_show(): s->object_size",
       sysfs_value<&A::object_size>},
      {"slab_size", T::number, "slab_size_show(): s->size", sysfs_value<&A::slab_size>},
      {"align", T::number, "align_show(): s->align", sysfs_value<&A::align>},
      {"min_partial", T::number, "min_partial_show(): s->min_partial",
       sysfs_value<&A::min_partial>},
      {"cpu_partial", T::number, "cpu_partial_show(): slub_cpu_partial(s), in objects",
       sysfs_value<&A::cpu_partial>},
      {"cpu_partial_slabs", T::number,
       "s->cpu_partial_slabs (v5.16+, no sysfs file): absent under v5.12",
       [](const Cache& s, std::string_view) {
         const CacheSettings& c = kmem_cache(s).s;
         return LayoutValue{.number = c.version == SlubVersion::v6_1
                                          ? std::optional<std::uint64_t>(c.cpu_partial_slabs)
                                          : std::nullopt};
       }},
      {"flags", T::flags, "s->flags (CONFIG_SLUB_DEBUG keeps the debug flags)",
       [](const Cache& s, std::string_view) {
         return LayoutValue{.flags = slab_flag_names(kmem_cache(s).flags, {})};
       }},
      {"merged_into", T::cache,
       "__kmem_cache_alias(): the cache /sys/kernel/slab/<name> links to; null: not merged",
       [](const Cache& s, std::string_view requested) {
         return LayoutValue{.cache = merged_into(s, requested)};
       }},
  };
  return fields;
}

const std::vector<std::string_view>& sysfs_file_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v = {
        "slab_size",
        "object_size",
        "objs_per_slab",
        "order",
        "min_partial",
        "cpu_partial",
        "objects",
        "objects_partial",
        "partial",
        "cpu_slabs",
        "aliases",
        "align",
        "hwcache_align",
        "reclaim_account",
        "destroy_by_rcu",
        "cache_dma",
        "slabs_cpu_partial",
        "total_objects",
        "slabs",
        "red_zone",
        "poison",
        "store_user",
        "remote_node_defrag_ratio",
    };
    for (StatItem item : sysfs_stat_order())
      v.push_back(stat_item_sysfs_name(item));
    return v;
  }();
  return names;
}

const std::vector<std::string_view>& slab_attribute_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v = {
        "slab_size", "object_size", "objs_per_slab", "order", "min_partial", "cpu_partial",
        "objects", "objects_partial", "partial", "cpu_slabs", "ctor", "aliases", "align",
        "hwcache_align", "reclaim_account", "destroy_by_rcu", "shrink", "slabs_cpu_partial",
        // CONFIG_SLUB_DEBUG
        "total_objects", "slabs", "sanity_checks", "trace", "red_zone", "poison", "store_user",
        "validate", "alloc_calls", "free_calls",
        "cache_dma",                 // CONFIG_ZONE_DMA
        "remote_node_defrag_ratio",  // CONFIG_NUMA
    };
    // CONFIG_SLUB_STATS, in slab_attrs[] order (cmpxchg_double_fail before
    // cmpxchg_double_cpu_fail).
    for (StatItem item : sysfs_stat_order())
      v.push_back(stat_item_sysfs_name(item));
    v.push_back("usersize");
    v.push_back("skip_kfence");  // v6.1, CONFIG_KFENCE
    if (v.size() > static_cast<std::size_t>(kernfs_active_classes))
      throw std::logic_error("slab_attribute_names: more files than kn->active classes");
    return v;
  }();
  return names;
}

int slab_attribute_index(std::string_view file) {
  const auto& names = slab_attribute_names();
  const auto it = std::find(names.begin(), names.end(), file);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

const std::vector<int>& slab_attributes(SlubVersion version) {
  auto make = [](bool v6_1) {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(slab_attribute_names().size()); ++i) {
      const std::string_view name = slab_attribute_names()[static_cast<std::size_t>(i)];
      const bool debugfs = name == "alloc_calls" || name == "free_calls";
      if (v6_1 ? !debugfs : name != "skip_kfence") out.push_back(i);
    }
    return out;
  };
  static const std::vector<int> v5 = make(false);
  static const std::vector<int> v6 = make(true);
  return version == SlubVersion::v6_1 ? v6 : v5;
}

std::optional<std::string> sysfs_file(const KmemCache& s, std::string_view file,
                                      const std::vector<bool>& online_cpus,
                                      std::span<const int> shown_as) {
  static constexpr std::array<SlabObjectsFile, 7> object_files = {
      SlabObjectsFile::slabs,
      SlabObjectsFile::objects,
      SlabObjectsFile::objects_partial,
      SlabObjectsFile::partial,
      SlabObjectsFile::total_objects,
      SlabObjectsFile::cpu_slabs,
      SlabObjectsFile::slabs_cpu_partial,
  };
  for (SlabObjectsFile what : object_files)
    if (file == slab_objects_file_name(what))
      return show_slab_objects(s, what, online_cpus, shown_as);
  for (int i = 0; i < NR_SLUB_STAT_ITEMS; ++i) {
    const auto item = static_cast<StatItem>(i);
    if (file == stat_item_sysfs_name(item)) return sysfs_stat_file(s, item, online_cpus, shown_as);
  }

  const SysfsAttributes a = sysfs_attributes(s);
  const std::pair<std::string_view, std::string> scalars[] = {
      {"slab_size", fmt::format("{}\n", a.slab_size)},
      {"object_size", fmt::format("{}\n", a.object_size)},
      {"objs_per_slab", fmt::format("{}\n", a.objs_per_slab)},
      {"order", fmt::format("{}\n", a.order)},
      {"min_partial", fmt::format("{}\n", a.min_partial)},
      {"cpu_partial", fmt::format("{}\n", a.cpu_partial)},
      {"aliases", fmt::format("{}\n", a.aliases)},
      {"align", fmt::format("{}\n", a.align)},
      {"hwcache_align", fmt::format("{}\n", a.hwcache_align)},
      {"reclaim_account", fmt::format("{}\n", a.reclaim_account)},
      {"cache_dma", fmt::format("{}\n", a.cache_dma)},
      {"destroy_by_rcu", fmt::format("{}\n", a.destroy_by_rcu)},
      {"red_zone", fmt::format("{}\n", a.red_zone)},
      {"poison", fmt::format("{}\n", a.poison)},
      {"store_user", fmt::format("{}\n", a.store_user)},
      {"remote_node_defrag_ratio", fmt::format("{}\n", a.remote_node_defrag_ratio)},
  };
  for (const auto& [name, text] : scalars)
    if (file == name) return text;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The sysfs part: a read of a file with the files' locks, the directory's removal

// sysfs_slab_add() (v5.10-v6.1): an unmergeable cache's directory takes its name, a mergeable
// one's a unique id with the name as its first alias link (sysfs_slab_alias()); either way
// sysfs_remove_link() of the name comes first, and kernfs_remove_by_name() removes whatever node
// has it, a directory included. So an earlier cache of that name loses its path here, its files'
// active references drained: in v6.1 a SLAB_TYPESAFE_BY_RCU cache whose release still waits for
// slab_caches_to_rcu_destroy_workfn(), whose own kobject_del() later finds nothing to remove.
void SlubAllocator::sysfs_slab_add(KmemCache* s) {
  for (const auto& other : caches_)
    if (other.get() != s && other->in_sysfs && other->name == s->name)
      kernfs_remove(*other, "kernfs_remove_by_name");
  s->in_sysfs = true;
}

void SlubAllocator::sysfs_slab_unlink(Cache* s) {
  auto* k = static_cast<KmemCache*>(s);
  if (k->in_sysfs) kernfs_remove(*k, "kernfs_remove");
}

bool SlubAllocator::sysfs_slab_linked(const Cache* s) const {
  return static_cast<const KmemCache*>(s)->in_sysfs;
}

// __kernfs_remove() deactivates the directory's files, then kernfs_drain()s each: a write
// acquisition of its kn->active class, contended while reads hold references, released at once.
// The kernel drains in its rb-tree order (name hash); the model in slab_attrs[] order, which only
// matters for which drain waits first.
void SlubAllocator::kernfs_remove(KmemCache& s, const char* function) {
  for (const int attribute : slab_attributes(params_.version)) {
    env_->lock(kernfs_active_class(attribute), s.id, LockMode::write, function);
    env_->unlock(kernfs_active_class(attribute), s.id, LockMode::write);
  }
  s.in_sysfs = false;
}

std::optional<LockClass> SlubAllocator::active_ref_class(std::string_view file) const {
  const int i = slab_attribute_index(file);
  const auto& present = slab_attributes(params_.version);
  if (i < 0 || std::find(present.begin(), present.end(), i) == present.end()) return std::nullopt;
  return kernfs_active_class(i);
}

// show_slab_objects() with SO_ALL (v5.10, v5.12, v6.1): for_each_kmem_cache_node() loads each
// struct and reads its nr_slabs or total_objects with no lock of its own (get_online_mems() left
// the function in e4f8e513c3d3, v5.4); only the strategy's show locks, if any, keep
// slab_mem_offline_callback() away. The read's latency is the window in which an offline can free
// the struct after its pointer was loaded: a use-after-free.
void SlubAllocator::lockless_node_reads(KmemCache* s) {
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    KmemCacheNode* n = s->node[nid];
    if (!n) continue;
    env_->touch_memory(n->backing ? n->backing.slab->pages.node : nid);
    env_->sync();
    if (n->freed)
      common_.violation(env_->current_cpu(), "show_slab_objects",
                        fmt::format("cache {} reads nr_slabs/total_objects of node {} through a "
                                    "freed kmem_cache_node (use-after-free)",
                                    s->name, nid),
                        ViolationKind::use_after_free);
  }
}

std::optional<std::string> SlubAllocator::slab_attr_show(Cache* c, std::string_view file,
                                                         const std::vector<bool>& online_cpus) {
  auto* s = static_cast<KmemCache*>(c);
  static constexpr std::array<std::string_view, 6> object_files = {
      "slabs", "objects", "objects_partial", "partial", "total_objects", "cpu_slabs"};
  const bool objects_file =
      std::find(object_files.begin(), object_files.end(), file) != object_files.end();
  env_->sync();
  if (objects_file) common_.lock_steps(strategy_.show_locks, "show_slab_objects");
  // Every file but cpu_slabs walks the nodes (SO_ALL, SO_PARTIAL); v3.14's walk dereferences a
  // missing struct (walk_node()).
  if (objects_file && file != "cpu_slabs")
    for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
      walk_node(s, nid, "show_slab_objects");
  if (file == "slabs" || file == "objects" || file == "total_objects") lockless_node_reads(s);
  if (file == "objects" || file == "objects_partial") {
    for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
      KmemCacheNode* n = s->node[nid];  // for_each_kmem_cache_node(): no lock holds it
      if (!n) continue;
      // count_partial(): the struct's first cache line comes from the node it was allocated on.
      env_->touch_memory(n->backing ? n->backing.slab->pages.node : nid);
      env_->irq_disable();
      list_lock(n, "count_partial");
      if (n->freed)
        common_.violation(
            env_->current_cpu(), "show_slab_objects",
            fmt::format("cache {} counts the partial slabs of node {} through a freed "
                        "kmem_cache_node (use-after-free)",
                        s->name, nid),
            ViolationKind::use_after_free);
      else
        env_->charge(costs_.count_partial_slab * static_cast<std::int64_t>(n->nr_partial));
      list_unlock(n);
      env_->irq_enable();
    }
  }
  auto text = sysfs_file(*s, file, online_cpus, shown_cpus_);
  if (objects_file) common_.unlock_steps(strategy_.show_locks);
  return text;
}

}  // namespace slabsim::alloc
