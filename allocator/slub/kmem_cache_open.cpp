// Cache geometry as kmem_cache_open() derives it (mm/slub.c and mm/slab_common.c, v5.10-v5.12,
// and v6.1 where params.version says so), for x86_64 with 4 KiB pages, CONFIG_SLUB_DEBUG,
// CONFIG_STACKTRACE, CONFIG_NUMA, no KASAN and no slub_debug= boot option. All arithmetic is done
// in 64 bits so that absurd inputs are refused instead of wrapping the way the kernel's unsigned
// int would.
#include "allocator/slub/kmem_cache_open.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>

namespace slabsim::alloc {

namespace {

constexpr unsigned page_shift = 12;
constexpr std::uint64_t word = 8;  // sizeof(void *)
// sizeof(struct track) in mm/slub.c with CONFIG_STACKTRACE=y (Debian, Ubuntu, Fedora, RHEL):
// addr (8) + addrs[TRACK_ADDRS_COUNT = 16] (128) + cpu (4) + pid (4) + when (8).
constexpr std::uint64_t track_size = 8 + 16 * 8 + 4 + 4 + 8;
// sizeof(struct track) in mm/slub.c v6.1 (stack depot since 788691464c29, v5.17; CONFIG_SLUB_DEBUG
// selects CONFIG_STACKDEPOT on x86_64): addr (8) + handle (4) + cpu (4) + pid (4) + padding (4) +
// when (8).
constexpr std::uint64_t track_size_v6_1 = 8 + 4 + 4 + 4 + 4 + 8;
// MAX_ORDER on x86_64 (orders 0..10); page_alloc.hpp's max_order is the same.
constexpr unsigned kernel_max_order = 11;
constexpr unsigned max_objs_per_page = 32767;   // MAX_OBJS_PER_PAGE: page->objects is 15 bits
constexpr unsigned long min_partial_floor = 5;  // MIN_PARTIAL
constexpr unsigned long min_partial_cap = 10;   // MAX_PARTIAL
// Beyond this shift every size the model accepts sees more than MAX_OBJS_PER_PAGE objects at
// slub_min_order, so slab_order() answers the same; capping keeps the shifts defined.
constexpr unsigned order_shift_cap = 40;

static_assert(track_size == 152);
static_assert(track_size_v6_1 == 32);

constexpr std::uint64_t align_up(std::uint64_t x, std::uint64_t a) {
  return (x + a - 1) / a * a;
}

// fls(): 1-based index of the most significant set bit, 0 for 0.
unsigned fls(unsigned x) {
  return static_cast<unsigned>(std::bit_width(x));
}

unsigned ilog2(std::uint64_t x) {
  return static_cast<unsigned>(std::bit_width(x)) - 1;
}

std::uint64_t slab_bytes(unsigned order) {
  return std::uint64_t{page_size} << std::min(order, order_shift_cap);
}

std::uint64_t objects_in(unsigned order, std::uint64_t size) {
  return slab_bytes(order) / size;
}

unsigned order_for(std::uint64_t size) {  // get_order() on 64-bit sizes, 0 for 0
  if (size <= page_size) return 0;
  return static_cast<unsigned>(std::bit_width((size - 1) >> page_shift));
}

// slab_order(): the lowest order from max(slub_min_order, the order that holds min_objects) up to
// max_order whose leftover is at most 1/fract_leftover of the slab; an order above max_order when
// none is.
// When slub_min_order would already put more than MAX_OBJS_PER_PAGE objects in a slab, the order
// just below the one holding MAX_OBJS_PER_PAGE objects is used instead.
unsigned slab_order(std::uint64_t size, std::uint64_t min_objects, unsigned max_order,
                    unsigned fract_leftover, unsigned slub_min_order) {
  if (objects_in(slub_min_order, size) > max_objs_per_page)
    return order_for(size * max_objs_per_page) - 1;
  unsigned order = std::max(slub_min_order, order_for(min_objects * size));
  for (; order <= max_order; ++order) {
    const std::uint64_t slab = slab_bytes(order);
    if (slab % size <= slab / fract_leftover) break;
  }
  return order;
}

// set_cpu_partial(): objects kept on each CPU's partial list, by s->size; none for debug caches
// (kmem_cache_has_cpu_partial() is false) or without CONFIG_SLUB_CPU_PARTIAL. v6.1 (since
// b47291ef02b0, v5.16) raised the numbers, which now stand for half-full slabs.
unsigned cpu_partial_for(std::uint64_t size, bool debug, bool enabled, SlubVersion version) {
  if (debug || !enabled) return 0;
  const bool v6 = version == SlubVersion::v6_1;
  if (size >= page_size) return v6 ? 6 : 2;
  if (size >= 1024) return v6 ? 24 : 6;
  if (size >= 256) return v6 ? 52 : 13;
  return v6 ? 120 : 30;
}

// slub_set_cpu_partial() (mm/slub.c v6.1): the per-CPU partial list holds at most this many
// slabs, assuming they are half full; v5.12 has no such bound.
unsigned cpu_partial_slabs_for(unsigned cpu_partial, unsigned objects, SlubVersion version) {
  if (version != SlubVersion::v6_1 || objects == 0) return 0;
  return (cpu_partial * 2 + objects - 1) / objects;  // DIV_ROUND_UP
}

void fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

}  // namespace

unsigned order_objects(unsigned order, unsigned size) {
  if (size == 0) return 0;
  return static_cast<unsigned>(objects_in(order, size));
}

int calculate_order_cpus(SlubVersion version, const MachineLayout& layout) {
  if (version == SlubVersion::v5_10) return layout.nr_cpu_ids();
  const int present = layout.num_present_cpus();
  return present <= 1 ? layout.nr_cpu_ids() : present;
}

// calculate_order() (v5.10): start from 4 * (fls(nr_cpus) + 1) objects (or slub_min_objects),
// capped by what an order-slub_max_order slab holds; for each object count try leftover limits
// 1/16, 1/8, 1/4 within slub_max_order, then one fewer object; then one object per slab within
// slub_max_order, then within MAX_ORDER - 1. Returns 11 (MAX_ORDER) where the kernel
// returns -ENOSYS. slub_max_order is clamped to MAX_ORDER - 1 as setup_slub_max_order() does.
unsigned calculate_order(unsigned size, int nr_cpus, const SlubBootParams& params) {
  if (size == 0) return kernel_max_order;
  const unsigned max_o = std::min(params.slub_max_order, kernel_max_order - 1);
  const unsigned min_o = params.slub_min_order;
  std::uint64_t min_objects = params.slub_min_objects;
  if (min_objects == 0) min_objects = 4 * (fls(static_cast<unsigned>(std::max(nr_cpus, 0))) + 1);
  min_objects = std::min(min_objects, objects_in(max_o, size));

  for (; min_objects > 1; --min_objects) {
    for (unsigned fraction = 16; fraction >= 4; fraction /= 2) {
      const unsigned order = slab_order(size, min_objects, max_o, fraction, min_o);
      if (order <= max_o) return order;
    }
  }
  unsigned order = slab_order(size, 1, max_o, 1, min_o);
  if (order <= max_o) return order;
  order = slab_order(size, 1, kernel_max_order, 1, min_o);
  return order < kernel_max_order ? order : kernel_max_order;
}

std::optional<CacheSettings> derive_cache_settings(unsigned object_size, unsigned align,
                                                   const CacheFlags& flags, int nr_cpus,
                                                   const SlubBootParams& params, std::string* why) {
  if (object_size == 0) {
    fail(why, "object_size is 0: a slab cache needs objects of at least one byte.");
    return std::nullopt;
  }
  if (align != 0 && !std::has_single_bit(align)) {
    fail(why, fmt::format("align {} is not a power of two, so ALIGN() cannot round to it.", align));
    return std::nullopt;
  }
  if (nr_cpus < 1) {
    fail(why, fmt::format("nr_cpus is {}: a machine has at least one CPU.", nr_cpus));
    return std::nullopt;
  }

  CacheSettings s;
  s.object_size = object_size;
  const std::uint64_t a = calculate_alignment(flags, align, object_size);

  // calculate_sizes(): the object rounded to a word, so a free pointer can sit on a word boundary.
  std::uint64_t size = align_up(object_size, word);
  const std::uint64_t freepointer_area = size;  // where an in-object free pointer may go
  // A red zone needs at least one byte after the object: add a word when rounding left none.
  if (flags.red_zone && size == object_size) size += word;
  s.inuse = static_cast<unsigned>(size);

  if (flags.typesafe_by_rcu || flags.poison || flags.has_ctor) {
    // The object's contents must survive free (RCU readers, poison pattern, constructed state):
    // the free pointer goes after the object (offset >= inuse).
    s.offset = static_cast<unsigned>(size);
    size += word;
  } else if (freepointer_area > word) {
    // Otherwise it sits in the middle of the object, away from neighbours' small overruns.
    s.offset = static_cast<unsigned>(align_up(freepointer_area / 2, word));
  }
  // The alloc and free struct track; v6.1 keeps a stack depot handle instead of the stack.
  if (flags.store_user)
    size += 2 * (params.version == SlubVersion::v6_1 ? track_size_v6_1 : track_size);
  if (flags.red_zone) {
    // A trailing word of padding, and a left red zone of one word rounded to the alignment.
    const std::uint64_t red_left_pad = align_up(word, a);
    size += word + red_left_pad;
  }
  size = align_up(size, a);  // objects are laid back to back, so size carries the alignment
  if (size > UINT32_MAX) {
    fail(why, fmt::format("object of {} bytes grows past 4 GiB with its metadata.", object_size));
    return std::nullopt;
  }
  s.align = static_cast<unsigned>(a);
  s.size = static_cast<unsigned>(size);

  s.order = calculate_order(s.size, nr_cpus, params);
  if (s.order >= kernel_max_order) {
    fail(why, fmt::format("s->size {} does not fit in a slab of order MAX_ORDER - 1 ({} bytes); "
                          "calculate_order() fails with -ENOSYS.",
                          s.size, slab_bytes(kernel_max_order - 1)));
    return std::nullopt;
  }
  const std::uint64_t objects = objects_in(s.order, s.size);
  if (objects == 0 || objects > max_objs_per_page) {
    fail(why, fmt::format("order {} holds {} objects of {} bytes; page->objects counts 1 to "
                          "MAX_OBJS_PER_PAGE ({}).",
                          s.order, objects, s.size, max_objs_per_page));
    return std::nullopt;
  }
  s.objects = static_cast<unsigned>(objects);
  // s->min: the smallest order holding one object, the fallback when s->oo cannot be had.
  s.min_order = get_order(s.size);
  s.min_objects = order_objects(s.min_order, s.size);

  // kmem_cache_open(): set_min_partial(ilog2(size) / 2), set_cpu_partial(), defrag ratio.
  s.min_partial = std::clamp<unsigned long>(ilog2(s.size) / 2, min_partial_floor, min_partial_cap);
  s.cpu_partial =
      cpu_partial_for(s.size, flags.debug(), params.cpu_partial_enabled, params.version);
  s.cpu_partial_slabs = cpu_partial_slabs_for(s.cpu_partial, s.objects, params.version);
  s.remote_node_defrag_ratio = 1000;
  s.version = params.version;
  return s;
}

}  // namespace slabsim::alloc
