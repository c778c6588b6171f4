#include "allocator/slob/slob.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace slabsim::alloc {

namespace {

// sizeof(struct kmem_cache) as mm/slab.h defines it for SLOB on x86_64: six unsigned ints, the
// name pointer, refcount (padded), ctor and the slab_caches list_head.
constexpr unsigned slob_kmem_cache_size = 64;
// ARCH_KMALLOC_MINALIGN on x86_64 (no ARCH_DMA_MINALIGN): __alignof__(unsigned long long).
constexpr unsigned arch_kmalloc_minalign = 8;
// sizeof(struct slob_rcu): an rcu_head (two pointers) and the int size, padded.
constexpr unsigned slob_rcu_size = 24;
// KMALLOC_MAX_SIZE with SLOB: 1 << (MAX_ORDER + PAGE_SHIFT - 1), the largest block alloc_pages()
// can return.
constexpr unsigned long kmalloc_max_size = 1ul << (max_order - 1 + 12);
constexpr int einval_errno = 22;  // EINVAL

}  // namespace

SlobList slob_list_for(unsigned long size) {
  if (size < slob_break1) return SlobList::small;
  if (size < slob_break2) return SlobList::medium;
  return SlobList::large;
}

const char* slob_list_name(SlobList list) {
  switch (list) {
    case SlobList::small:
      return "free_slob_small";
    case SlobList::medium:
      return "free_slob_medium";
    case SlobList::large:
      return "free_slob_large";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Boot: kmem_cache_init() points kmem_cache at the static kmem_cache_boot and is done; the boot
// cache is on no list (SLOB's kmem_cache_init() never adds it to slab_caches).

SlobAllocator::SlobAllocator(Environment& env, PageAllocator& pages, NodeStates& states,
                             Strategy strategy, SlobCosts costs)
    : Allocator(env, std::move(strategy)),
      AllocatorState(common_),
      env_(env),
      pages_(pages),
      states_(states),
      layout_(pages.layout()),
      costs_(costs) {
  kmem_cache_boot_.name = "kmem_cache";
  kmem_cache_boot_.id = common_.new_cache_id();
  kmem_cache_boot_.fallback_to_no_node.assign(layout_.nr_node_ids(), 0);
  oops_reported_.assign(layout_.nr_node_ids(), false);
  kmem_cache_boot_.object_size = kmem_cache_boot_.size = slob_kmem_cache_size;
  kmem_cache_boot_.align = arch_kmalloc_minalign;
  kmem_cache_boot_.refcount = -1;  // static: never destroyed
}

bool SlobAllocator::node_usable(int nid) const {
  return states_.test(nid, NodeState::normal_memory);
}

// ---------------------------------------------------------------------------------------------
// Page structs and lists

SlobPage* SlobAllocator::make_page() {
  SlobPage* sp = page_pool_.acquire();
  *sp = SlobPage{};
  return sp;
}

void SlobAllocator::release_page(SlobPage* sp) {
  in_use_.erase(sp->serial);
  sp->live = false;
  sp->free.clear();
  sp->allocated.clear();
  page_pool_.release(sp);
}

// set_slob_page_free(): list_add() at the head, and PageSlobFree.
void SlobAllocator::set_slob_page_free(SlobPage* sp, SlobList list) {
  auto& head = list_head(list);
  head.push_front(sp);
  sp->list_pos = head.begin();
  sp->list = list;
  env_.charge(costs_.list_update);
}

// clear_slob_page_free(): list_del() and clear PageSlobFree.
void SlobAllocator::clear_slob_page_free(SlobPage* sp) {
  list_head(*sp->list).erase(sp->list_pos);
  sp->list.reset();
  env_.charge(costs_.list_update);
}

void SlobAllocator::lock_slob(const char* function) {
  env_.irq_disable();
  env_.lock(LockClass::slob_lock, 0, LockMode::exclusive, function);
}

void SlobAllocator::unlock_slob() {
  env_.unlock(LockClass::slob_lock, 0, LockMode::exclusive);
  env_.irq_enable();
}

// ---------------------------------------------------------------------------------------------
// The page allocator: slob_new_pages(), slob_free_pages()

SlobPage* SlobAllocator::slob_new_pages(Gfp gfp, unsigned order, int node) {
  // NUMA_NO_NODE: alloc_pages() under the default mempolicy, i.e. the local node first; a node:
  // __alloc_pages_node(), that node first with the normal zonelist fallback (SLOB adds no
  // __GFP_THISNODE; a caller's own is kept).
  env_.sync();  // the buddy lists are shared
  if (node != numa_no_node && !states_.test(node, NodeState::online)) {
    // SLOB passes the node on unchecked (SLUB and SLAB test it first): a node that is not online
    // has no pgdat, and __alloc_pages_node() would oops on NODE_DATA(node)'s zonelist. The model
    // records that (once per node: the report is the same text every time) and fails the
    // allocation instead.
    if (oops_reported_[node]) return nullptr;
    oops_reported_[node] = true;
    common_.violation(env_.current_cpu(), "slob_new_pages",
                      fmt::format("__alloc_pages_node() for node {}, which is not online: "
                                  "NODE_DATA({}) is NULL (a kernel oops)",
                                  node, node));
    return nullptr;
  }
  auto pages =
      pages_.alloc_pages(node, order, static_cast<Gfp>(gfp & gfp_thisnode), env_.current_cpu());
  if (!pages) return nullptr;
  SlobPage* sp = make_page();
  sp->pages = *pages;
  sp->serial = next_page_serial_++;
  sp->live = true;
  in_use_[sp->serial] = sp;
  ++pages_allocated_;
  env_.charge(costs_.new_page);
  env_.touch_memory(sp->pages.node);  // __SetPageSlab() / the struct page set-up
  return sp;
}

void SlobAllocator::slob_free_pages(SlobPage* sp) {
  env_.sync();
  env_.touch_memory(sp->pages.node);  // __ClearPageSlab(), page_mapcount_reset()
  pages_.free_pages(sp->pages, env_.current_cpu());
  env_.charge(costs_.free_page);
  release_page(sp);
}

// ---------------------------------------------------------------------------------------------
// slob_page_alloc(): first fit within one page, honouring alignment

std::optional<std::uint16_t> SlobAllocator::slob_page_alloc(SlobPage* sp, unsigned long size,
                                                            unsigned align, bool* removed) {
  const unsigned long units = slob_units(size);
  *removed = false;
  // The page's address, for ALIGN(): alignments beyond a page depend on where the page is.
  const std::uint64_t base = sp->pages.pfn * page_size;
  // slob_units()/slob_next() read each block's header on the way: paid for the blocks walked
  // once the walk ends, at the same time (nothing in between syncs the CPU).
  std::size_t walked = 0;
  const auto pay_walk = [&] {
    if (walked == 0) return;
    env_.touch_memory(sp->pages.node, static_cast<int>(walked));
    env_.charge(costs_.block_walked * static_cast<std::int64_t>(walked));
  };
  for (std::size_t i = 0; i < sp->free.size(); ++i) {
    ++walked;
    const SlobBlock cur = sp->free[i];
    if (cur.units < units) continue;  // too small whatever its alignment: no ALIGN() to work out
    std::uint64_t delta = 0;
    if (align) {
      const std::uint64_t addr = base + std::uint64_t{cur.offset} * slob_unit;
      const std::uint64_t aligned = (addr + align - 1) / align * align;
      delta = (aligned - addr) / slob_unit;
    }
    if (cur.units < units + delta) continue;  // slob_last() ends the walk after the last block
    pay_walk();
    std::size_t at = i;
    if (delta) {
      // Fragment the head so the object starts aligned: the head stays free, in front.
      sp->free[i].units = static_cast<std::uint16_t>(delta);
      sp->free.insert(sp->free.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                      {static_cast<std::uint16_t>(cur.offset + delta),
                       static_cast<std::uint16_t>(cur.units - delta)});
      at = i + 1;
    }
    const SlobBlock hit = sp->free[at];
    if (hit.units == units) {
      sp->free.erase(sp->free.begin() + static_cast<std::ptrdiff_t>(at));  // exact fit: unlink
    } else {
      sp->free[at] = {static_cast<std::uint16_t>(hit.offset + units),
                      static_cast<std::uint16_t>(hit.units - units)};  // the tail stays free
    }
    env_.charge(costs_.block_split);
    sp->units -= static_cast<unsigned>(units);
    if (!sp->units) {
      clear_slob_page_free(sp);
      *removed = true;
    }
    return hit.offset;
  }
  pay_walk();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// slob_alloc(): the size class's list under slob_lock, else a new page

ObjectRef SlobAllocator::slob_alloc(SlobCache* c, unsigned long size, Gfp gfp, unsigned align,
                                    int node) {
  const SlobList which = slob_list_for(size);
  auto& head = list_head(which);
  const unsigned long units = slob_units(size);
  SlobPage* found = nullptr;
  std::optional<std::uint16_t> offset;

  lock_slob("slob_alloc");
  for (auto it = head.begin(); it != head.end(); ++it) {
    SlobPage* sp = *it;
    env_.touch_memory(sp->pages.node);  // page_to_nid() and sp->units: the struct page
    env_.charge(costs_.page_examined);
    // A node-specific request only takes pages of that node, so that placement is not random.
    if (node != numa_no_node && sp->pages.node != node) continue;
    if (sp->units < units) continue;
    bool removed = false;
    offset = slob_page_alloc(sp, size, align, &removed);
    if (!offset) continue;
    found = sp;
    // The next search starts at this page (Knuth's next fit, vol. 1 sec. 2.5): the pages in
    // front of it move to the tail in order. A page that just became full left the list.
    if (!removed && it != head.begin()) {
      head.splice(head.end(), head, head.begin(), it);
      env_.charge(costs_.list_update);
    }
    break;
  }
  unlock_slob();

  if (!found) {
    // No listed page fits: a fresh order-0 page, taken without the lock.
    SlobPage* sp = slob_new_pages(gfp, 0, node);
    if (!sp) return {};
    lock_slob("slob_alloc");
    sp->units = slob_page_units;
    sp->free = {{0, static_cast<std::uint16_t>(slob_page_units)}};
    set_slob_page_free(sp, which);
    bool removed = false;
    offset = slob_page_alloc(sp, size, align, &removed);
    unlock_slob();
    if (!offset) {
      // BUG_ON(!b): only an alignment beyond what the page's address offers can get here.
      common_.violation(env_.current_cpu(), "slob_alloc",
                        fmt::format("BUG: a fresh page cannot hold {} bytes aligned to {} for "
                                    "cache {}",
                                    size, align, c->name));
      lock_slob("slob_alloc");
      clear_slob_page_free(sp);
      unlock_slob();
      slob_free_pages(sp);
      return {};
    }
    found = sp;
  }
  found->allocated[*offset] = {units, c};
  return {found, *offset, found->pages.node};
}

// slob_alloc_node(): small objects from the SLOB heap, objects of PAGE_SIZE or more straight
// from the page allocator. The constructor would run here; the model has no payloads.
ObjectRef SlobAllocator::slob_alloc_node(SlobCache* c, Gfp gfp, int node) {
  if (node != numa_no_node && (node < 0 || node >= layout_.nr_node_ids()))
    throw std::out_of_range(fmt::format("slob_alloc_node: no node {}", node));
  env_.charge(costs_.alloc_entry);
  ObjectRef x;
  if (c->size < page_size) {
    x = slob_alloc(c, c->size, gfp, c->align, node);
  } else {
    SlobPage* sp = slob_new_pages(gfp, get_order(c->size), node);
    if (sp) {
      sp->large = true;
      sp->allocated[0] = {slob_units(c->size), c};
      x = {sp, 0, sp->pages.node};
    }
  }
  if (x) ++c->live_objects;
  return x;
}

ObjectRef SlobAllocator::kmem_cache_alloc(Cache* s, Gfp gfp) {
  return kmem_cache_alloc_node(s, gfp, numa_no_node);
}

ObjectRef SlobAllocator::kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) {
  if (!s) throw std::invalid_argument("kmem_cache_alloc: NULL cache");
  SlobCache* c = cache(s);
  if (c->destroyed)
    common_.violation(env_.current_cpu(), "kmem_cache_alloc",
                      fmt::format("an object is allocated from cache {} after kmem_cache_destroy "
                                  "freed its struct kmem_cache (use-after-free)",
                                  c->name),
                      ViolationKind::use_after_free);
  return slob_alloc_node(c, gfp, node);
}

// ---------------------------------------------------------------------------------------------
// slob_free(): back into the page's address-ordered free list, merging neighbours

void SlobAllocator::slob_free(SlobPage* sp, std::uint16_t offset, unsigned long size) {
  const auto units = static_cast<std::uint16_t>(slob_units(size));
  lock_slob("slob_free");
  env_.charge(costs_.free_entry);
  env_.touch_memory(sp->pages.node);  // sp->units, PageSlobFree

  if (sp->units + units == slob_page_units) {
    // The page becomes wholly free: it goes back to the page allocator, off its list.
    if (sp->list) clear_slob_page_free(sp);
    unlock_slob();
    slob_free_pages(sp);
    return;
  }

  if (!sp->list) {
    // A full page gets its first free block, and joins the list of this block's size class
    // (which need not be the class it was filled from).
    sp->units = units;
    sp->free = {{offset, units}};
    set_slob_page_free(sp, slob_list_for(size));
    unlock_slob();
    return;
  }

  sp->units += units;
  // The kernel walks from the head to the first free block past this one.
  const auto next =
      std::upper_bound(sp->free.begin(), sp->free.end(), offset,
                       [](std::uint16_t off, const SlobBlock& b) { return off < b.offset; });
  const auto walked = std::max<std::ptrdiff_t>(next - sp->free.begin(), 1);
  env_.touch_memory(sp->pages.node, static_cast<int>(walked));
  env_.charge(costs_.free_merge_step * walked);
  auto at = sp->free.insert(next, {offset, units});
  if (at + 1 != sp->free.end() && at->offset + at->units == (at + 1)->offset) {
    at->units = static_cast<std::uint16_t>(at->units + (at + 1)->units);  // merge with next
    sp->free.erase(at + 1);
  }
  if (at != sp->free.begin() && (at - 1)->offset + (at - 1)->units == at->offset) {
    (at - 1)->units = static_cast<std::uint16_t>((at - 1)->units + at->units);  // with previous
    sp->free.erase(at);
  }
  env_.charge(costs_.free_merge);
  unlock_slob();
}

// __kmem_cache_free(): small blocks to slob_free(), large objects to slob_free_pages().
void SlobAllocator::kmem_cache_free_block(SlobCache* c, ObjectRef x) {
  auto* sp = static_cast<SlobPage*>(x.slab);
  const auto offset = static_cast<std::uint16_t>(x.index);
  sp->allocated.erase(offset);
  --c->live_objects;
  if (c->size < page_size)
    slob_free(sp, offset, c->size);
  else
    slob_free_pages(sp);
}

void SlobAllocator::kmem_cache_free(Cache* s, ObjectRef x) {
  if (!x) return;
  if (!s) throw std::invalid_argument("kmem_cache_free: NULL cache");
  SlobCache* c = cache(s);
  auto* sp = static_cast<SlobPage*>(x.slab);
  const auto found =
      sp->live ? sp->allocated.find(static_cast<std::uint16_t>(x.index)) : sp->allocated.end();
  if (found == sp->allocated.end())
    throw std::invalid_argument(fmt::format(
        "kmem_cache_free: cache {} frees an object that is not allocated (double free)", c->name));
  if (found->second.cache != c)
    throw std::invalid_argument(fmt::format("kmem_cache_free: object of cache {} freed to cache {}",
                                            found->second.cache->name, c->name));
  if (c->destroyed) {
    // SLOB's destroy could not see the live objects; the free now reads c->size and c->flags
    // from a freed struct kmem_cache. The model uses the values it had so the run goes on.
    common_.violation(env_.current_cpu(), "kmem_cache_free",
                      fmt::format("an object is freed to cache {} after kmem_cache_destroy freed "
                                  "its struct kmem_cache (use-after-free)",
                                  c->name),
                      ViolationKind::use_after_free);
  }
  // kmem_cache_free() (mm/slob.c, v5.10): a SLAB_TYPESAFE_BY_RCU cache frees each object from
  // an RCU callback, kmem_rcu_free() -> __kmem_cache_free() with the size kept in the object's
  // struct slob_rcu footer: the block stays allocated (and its page in use) for a grace period.
  if (c->flags.typesafe_by_rcu) {
    env_.call_rcu([this, c, x] { kmem_cache_free_block(c, x); });
    return;
  }
  kmem_cache_free_block(c, x);
}

// ---------------------------------------------------------------------------------------------
// The hooks of mm/slab_common.c: __kmem_cache_create, __kmem_cache_shutdown,
// __kmem_cache_release, __kmem_cache_shrink

// create_cache() -> SLOB's __kmem_cache_create(). SLOB never merges caches (__kmem_cache_alias()
// is NULL for it) and has no sysfs, so duplicate names are fine. Fails (-EINVAL) for an object
// size of 0 or above KMALLOC_MAX_SIZE (the checks of kmem_cache_sanity_check(); without them the
// kernel would fail every allocation) or an alignment that is not a power of two, before any
// allocation; -ENOMEM without memory for the struct.
CreatedCache SlobAllocator::__kmem_cache_create(const std::string& name, unsigned object_size,
                                                unsigned align, CacheFlags flags) {
  if (object_size == 0) return {nullptr, -einval_errno, "object_size is 0"};
  if (object_size > kmalloc_max_size)
    return {nullptr, -einval_errno,
            fmt::format("object_size {} is above KMALLOC_MAX_SIZE ({})", object_size,
                        kmalloc_max_size)};
  if (align != 0 && !std::has_single_bit(align))
    return {nullptr, -einval_errno, fmt::format("align {} is not a power of two", align)};
  // kmem_cache_zalloc(kmem_cache, GFP_KERNEL): the struct is a SLOB object itself.
  const ObjectRef backing = slob_alloc_node(&kmem_cache_boot_, gfp_kernel, numa_no_node);
  if (!backing) return {nullptr, -enomem, "out of memory for struct kmem_cache"};
  auto owned = std::make_unique<SlobCache>();
  SlobCache* c = owned.get();
  c->name = name;
  c->id = common_.new_cache_id();
  c->fallback_to_no_node.assign(layout_.nr_node_ids(), 0);
  c->flags = flags;
  c->object_size = object_size;
  // create_cache() stores calculate_alignment() as c->align.
  c->align = static_cast<unsigned>(calculate_alignment(flags, align, object_size));
  // __kmem_cache_create(): room for the RCU footer at the end of each object.
  c->size = object_size + (flags.typesafe_by_rcu ? slob_rcu_size : 0);
  c->backing = backing;
  caches_.push_back(std::move(owned));
  return {c, 0, {}};
}

// SLOB's __kmem_cache_shutdown() has no way to see remaining objects and returns 0, so
// kmem_cache_destroy() never fails with -EBUSY: the struct is freed even with live objects,
// whose later frees then use it.
int SlobAllocator::__kmem_cache_shutdown(Cache*) {
  return 0;
}

// slab_kmem_cache_release(): __kmem_cache_release() does nothing for SLOB, then
// kmem_cache_free(kmem_cache, s). slab_common releases SLAB_TYPESAFE_BY_RCU caches from its work,
// after rcu_barrier().
void SlobAllocator::__kmem_cache_release(Cache* s) {
  SlobCache* c = cache(s);
  kmem_cache_free_block(&kmem_cache_boot_, c->backing);
  c->backing = {};
}

// SLOB has nothing to shrink: wholly free pages already went back to the page allocator.
int SlobAllocator::__kmem_cache_shrink(Cache*) {
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Reports

CacheReport SlobAllocator::cache_report(const Cache* s, const std::vector<bool>&) const {
  CacheReport r;
  r.objects_in_use = static_cast<const SlobCache*>(s)->live_objects;
  return r;
}

std::vector<const SlobPage*> SlobAllocator::free_list(SlobList list) const {
  const auto& head = lists_[static_cast<int>(list)];
  return {head.begin(), head.end()};
}

std::vector<const SlobPage*> SlobAllocator::pages_in_use() const {
  std::vector<const SlobPage*> out;
  out.reserve(in_use_.size());
  for (const auto& [serial, sp] : in_use_)
    out.push_back(sp);
  return out;
}

const std::vector<LayoutField>& slob_layout_fields() {
  using T = LayoutType;
  static const std::vector<LayoutField> fields = {
      {"object_size", T::number, "c->object_size: the size asked for",
       [](const Cache& s, std::string_view) {
         return LayoutValue{.number = static_cast<const SlobCache&>(s).object_size};
       }},
      {"size", T::number, "c->size: object_size, plus struct slob_rcu for SLAB_TYPESAFE_BY_RCU",
       [](const Cache& s, std::string_view) { return LayoutValue{.number = s.size}; }},
      {"align", T::number, "c->align: calculate_alignment()",
       [](const Cache& s, std::string_view) {
         return LayoutValue{.number = static_cast<const SlobCache&>(s).align};
       }},
      {"flags", T::flags, "c->flags: CACHE_CREATE_MASK keeps only SLAB_CORE_FLAGS",
       [](const Cache& s, std::string_view) {
         return LayoutValue{.flags = slab_flag_names(static_cast<const SlobCache&>(s).flags,
                                                     {.debug_flags = false, .cache_flags = false})};
       }},
  };
  return fields;
}

}  // namespace slabsim::alloc
