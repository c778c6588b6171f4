#include "workload/workload_format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "allocator/slub/slub_sysfs.hpp"
#include "config/json_pointer.hpp"
#include "config/units.hpp"
#include "topology/topology_format.hpp"
#include "workload/kernel_times.hpp"

namespace slabsim::workload {

using namespace slabsim::config;
using nlohmann::json;
using topology::max_cpu_id;
using topology::max_node_id;

namespace {

const char* const name_pattern = "[a-z0-9][a-z0-9._-]*";
const char* const name_meaning =
    "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit";

SpecPtr fraction() {
  return number(0, 1);
}

SpecPtr distribution(const char* what) {
  return with_exactly_one_of(
      object(fmt::format("a random {}: exactly one of constant, exponential or uniform", what),
             {
                 optional("constant", duration(0), "Always this duration."),
                 optional("exponential", duration(1),
                          "Exponentially distributed with this mean (a Poisson process when "
                          "used as a think time)."),
                 optional("uniform", array(duration(0), 2, 2),
                          "Uniformly distributed between two durations [low, high], low <= "
                          "high."),
             }),
      {"constant", "exponential", "uniform"});
}

const char* const cache_name_pattern = "[A-Za-z0-9_][A-Za-z0-9._-]*";

SpecPtr cache_name_ref() {
  return string(cache_name_pattern, "the name of a cache declared in /caches");
}

SpecPtr make_spec() {
  auto cache = object(
      "a slab cache, as kmem_cache_create() makes it",
      {
          required("name",
                   string(cache_name_pattern,
                          "letters, digits, '.', '_' and '-', starting with a letter, digit or "
                          "'_' (a /sys/kernel/slab directory name)"),
                   "Name of the cache, unique; /sys/kernel/slab/<name> and /proc/slabinfo show "
                   "it, unless kmem_cache_create() merges it into an older compatible cache "
                   "(__kmem_cache_alias(), on unless --slab-nomerge): the name then refers to "
                   "that cache, which the cache's layout names in merged_into."),
          required("object_size", integer(1, 4 << 20),
                   "Object size in bytes, the size argument of kmem_cache_create()."),
          optional("align", integer(0, 1 << 20),
                   "Required alignment in bytes: 0 or a power of two (the align argument of "
                   "kmem_cache_create()).",
                   0),
          optional(
              "flags",
              array(enumeration({"hwcache_align", "reclaim_account", "typesafe_by_rcu", "ctor",
                                 "red_zone", "poison", "store_user"})),
              "kmem_cache_create() flags: SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, "
              "SLAB_TYPESAFE_BY_RCU, a constructor (\"ctor\"), and the debug flags "
              "SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER. A constructor, SLAB_TYPESAFE_BY_RCU "
              "and the debug flags keep a cache from being merged (SLAB_NEVER_MERGE); "
              "SLAB_RECLAIM_ACCOUNT must be the same on both (SLAB_MERGE_SAME).",
              json::array()),
          optional("at_boot", boolean(),
                   "true: the cache exists from boot. false: it is created by a cache_create "
                   "event; thread groups using it skip allocations while it does not exist.",
                   true),
      });

  auto thread = with_exactly_one_of(
      object("a group of allocating threads, one pinned to each of its CPUs",
             {
                 required("name", string(name_pattern, name_meaning),
                          "Name of the thread group, unique; results are reported by it."),
                 optional("cpus", cpulist(max_cpu_id),
                          "CPUs to run on, one thread each: an array of ids, a cpulist string such "
                          "as \"0-3,8\", or \"all\" for every CPU of the topology."),
                 optional("nodes", array(integer(0, max_node_id), 1),
                          "Run on every CPU of these nodes (instead of \"cpus\")."),
                 required("cache", cache_name_ref(), "The cache the threads allocate from."),
                 optional("alloc_node_fraction", fraction(),
                          "Share of allocations made with kmem_cache_alloc_node() for the "
                          "target_node (a number from 0 to 1); the rest use kmem_cache_alloc().",
                          0),
                 optional("target_node",
                          enumeration({"local", "remote", "nearest", "random", "fixed"}),
                          "The node kmem_cache_alloc_node() asks for, relative to the allocating "
                          "CPU: \"local\" its own node, \"remote\" the next node with memory after "
                          "its own (round robin by CPU), \"nearest\" the nearest other node with "
                          "memory, \"random\" any node uniformly, \"fixed\" the node fixed_node.",
                          "local"),
                 optional("fixed_node", integer(0, max_node_id),
                          "The node of \"target_node\": \"fixed\" (required with it, not allowed "
                          "without it); any node of the topology, with or without memory."),
                 required("think_time", distribution("think time"),
                          "Time between two operations of one thread."),
                 required("lifetime", distribution("lifetime"),
                          "How long an object lives before it is freed."),
                 optional("remote_free_fraction", fraction(),
                          "Share of objects freed by a CPU of another node (a number from 0 to 1); "
                          "the rest are freed by the CPU that allocated them.",
                          0),
                 optional("accesses_per_object", integer(0, max_accesses_per_object),
                          "Memory accesses to each object while it lives (charged at the "
                          "topology's latency from the accessing CPU to the object's node).",
                          0),
                 optional("max_live_per_cpu", integer(1, max_live_per_cpu_limit),
                          "A thread stops allocating while it holds this many live objects.", 4096),
                 optional("start", duration(0), "When the threads start, from the run's start.",
                          "0ns"),
                 optional("stop", duration(0),
                          "When the threads stop allocating (after start, at most the duration); "
                          "default: they run to the end."),
             }),
      {"cpus", "nodes"});

  auto node_field = [](const char* what) {
    return required("node", integer(0, max_node_id),
                    fmt::format("The node whose memory blocks are {}; it must have blocks.", what));
  };
  auto cache_field = [](const char* what) { return required("cache", cache_name_ref(), what); };
  auto action = enumeration({"going_online", "going_offline"});

  std::vector<Field> event_fields = {
      required("at", duration(0), "When the event happens, from the run's start (<= duration)."),
      optional("repeat",
               object("a repetition of the event",
                      {
                          required("every", duration(1), "Time between two occurrences."),
                          required("count", integer(1, max_repeat_count),
                                   "Number of occurrences, the first at \"at\"; the last must "
                                   "fall within the duration."),
                      }),
               "Repeat the event: count occurrences, every apart, starting at \"at\"."),
      optional("memory_add",
               object("hot-add of absent memory blocks of a node",
                      {
                          node_field("hot-added"),
                          optional("blocks", integer(0, 1 << 24),
                                   "Number of blocks to hot-add: the first this many absent "
                                   "blocks of the node in block-id order (0 = all). They stay "
                                   "offline, as with memhp_default_state=offline, until a "
                                   "memory_online.",
                                   0),
                      }),
               "Hot-add memory blocks of a node (add_memory(), as a DIMM's ACPI insertion does) "
               "without onlining them."),
      optional("memory_online",
               object("onlining of memory blocks of a node",
                      {
                          node_field("onlined"),
                          optional("blocks", integer(0, 1 << 24),
                                   "Number of blocks to online: the first this many offline or "
                                   "absent blocks of the node in block-id order (0 = all). "
                                   "Absent blocks are hot-added first (add_memory), then onlined "
                                   "(online_pages).",
                                   0),
                          optional("zone", enumeration({"normal", "movable"}),
                                   "Zone to online into: \"normal\" (online_kernel) or "
                                   "\"movable\" (online_movable); default: each block's "
                                   "declared zone."),
                      }),
               "Online memory blocks of a node (echo online > .../memoryN/state)."),
      optional("memory_offline",
               object("offlining of memory blocks of a node",
                      {
                          node_field("offlined"),
                          optional("blocks", integer(0, 1 << 24),
                                   "Number of blocks to offline: the first this many online "
                                   "blocks of the node in block-id order (0 = all), offlined "
                                   "from the highest address down. A block holding slab pages "
                                   "fails to offline (-EBUSY at isolation).",
                                   0),
                      }),
               "Offline memory blocks of a node (offline_pages)."),
      optional("memory_remove",
               object("hot-remove of memory blocks of a node",
                      {
                          node_field("hot-removed"),
                          optional("blocks", integer(0, 1 << 24),
                                   "Number of blocks to remove: the last this many present "
                                   "blocks of the node in block-id order (0 = all), as DIMMs "
                                   "are unplugged last in, first out. All must be offline, "
                                   "else nothing is removed (-EBUSY).",
                                   0),
                      }),
               "Hot-remove memory blocks of a node (try_remove_memory(), as a DIMM's ACPI "
               "eject does once its blocks are offline); the node goes offline when it has "
               "neither memory nor CPUs left (try_offline_node())."),
      optional("cpu_online",
               object("onlining of a CPU",
                      {required("cpu", integer(0, max_cpu_id), "The CPU to bring online.")}),
               "Bring a CPU online; its threads resume."),
      optional("cpu_offline",
               object("offlining of a CPU",
                      {required("cpu", integer(0, max_cpu_id),
                                "The CPU to take offline; its threads stop first, then "
                                "slub_cpu_dead() flushes its per-CPU slabs.")}),
               "Take a CPU offline."),
      optional("cache_create",
               object("creation of a cache declared with \"at_boot\": false",
                      {cache_field("The cache to create (kmem_cache_create()).")}),
               "Create a cache (kmem_cache_create) under the strategy's locks."),
      optional("cache_destroy",
               object("destruction of a cache",
                      {cache_field("The cache to destroy (kmem_cache_destroy()). Threads stop "
                                   "using it; objects still alive make the destroy fail, as in "
                                   "the kernel, and the cache stays.")}),
               "Destroy a cache (kmem_cache_destroy) under the strategy's locks."),
      optional("shrink",
               object("a write of 1 to /sys/kernel/slab/<cache>/shrink",
                      {cache_field("The cache to shrink (kmem_cache_shrink()).")}),
               "Shrink a cache through sysfs (shrink_store -> kmem_cache_shrink)."),
      optional("sysfs_read",
               object("a read of /sys/kernel/slab/<cache>/<file>",
                      {
                          cache_field("The cache whose sysfs directory is read."),
                          required("file", string(),
                                   "A readable file of /sys/kernel/slab/<cache>/, such as "
                                   "\"total_objects\", \"objects_partial\", \"slabs\" or a "
                                   "stat_item counter such as \"alloc_node_mismatch\"."),
                      }),
               "Read a sysfs file of a cache (show_slab_objects() and friends)."),
      optional("alloc_burst",
               object("allocations from one CPU, kept until a free_burst",
                      {
                          cache_field("The cache to allocate from."),
                          required("node", integer(-1, max_node_id),
                                   "The node asked for with kmem_cache_alloc_node(); -1 is "
                                   "NUMA_NO_NODE."),
                          required("cpu", integer(0, max_cpu_id),
                                   "The CPU that allocates (as work_on_cpu() runs a function "
                                   "there)."),
                          required("count", integer(1, max_burst_count),
                                   "Number of kmem_cache_alloc_node(GFP_KERNEL) calls."),
                      }),
               "Allocate objects on one CPU and keep them; where each lands is recorded, as the "
               "kernel-check probe's alloc command reports it."),
      optional("free_burst",
               object("frees of objects kept by alloc_burst events",
                      {
                          cache_field("The cache whose kept objects are freed."),
                          required("cpu", integer(0, max_cpu_id), "The CPU that frees."),
                          optional("count", integer(0, max_burst_count),
                                   "Number of objects, oldest first (0 = all kept).", 0),
                      }),
               "Free objects kept by earlier alloc_burst events (kmem_cache_free())."),
      optional(
          "page_burst",
          object("page allocations from one CPU, kept until a page_free",
                 {
                     required("node", integer(-1, max_node_id),
                              "The node asked for with alloc_pages_node(); -1 is "
                              "NUMA_NO_NODE (the CPU's node)."),
                     required("cpu", integer(0, max_cpu_id), "The CPU that allocates."),
                     optional("order", integer(0, 10), "Page order of each allocation.", 0),
                     required("count", integer(1, max_page_burst_count),
                              "Number of alloc_pages_node(GFP_KERNEL) calls."),
                     optional("movable", boolean(),
                              "User pages instead: GFP_HIGHUSER_MOVABLE, which may use "
                              "ZONE_MOVABLE, lives in movable pageblocks and is migrated away "
                              "by an offline (the model forgets a migrated page).",
                              false),
                 }),
          "Allocate pages on one CPU and keep them: what numastat counts (zone_statistics())."),
      optional("page_free", object("the free of every page kept by page_burst events", {}),
               "Free every page kept by earlier page_burst events (__free_pages())."),
      optional(
          "inject_error",
          object("the memory notifier error injector failing an action",
                 {
                     required("action", action,
                              "The notifier action to fail: \"going_online\" "
                              "(MEM_GOING_ONLINE) or \"going_offline\" "
                              "(MEM_GOING_OFFLINE)."),
                     optional("error", integer(min_errno, -1),
                              "The negative errno the injector returns (-12 is -ENOMEM).", -12),
                 }),
          "Start failing a notifier action (memory-notifier-error-inject, priority 0: "
          "after SLUB's callback, as in mem-on-off-test.sh)."),
      optional("clear_error",
               object("the memory notifier error injector stopping",
                      {required("action", action, "The notifier action to stop failing.")}),
               "Stop failing a notifier action (error 0)."),
  };
  auto event = with_exactly_one_of(
      object("a timed event: \"at\", an optional \"repeat\" and exactly one event key",
             std::move(event_fields)),
      event_keys());

  // Each with its model's default (workload/kernel_times.hpp).
  auto ns = [](std::int64_t v) { return json(fmt::format("{}ns", v)); };
  std::vector<Field> kernel_fields;
  for (const auto& p : kernel_time_params())
    kernel_fields.push_back(
        optional(std::string(p.key), duration(p.min_ns), std::string(p.description),
                 p.default_ns == tick_aligned ? std::nullopt : std::optional(ns(p.default_ns))));
  auto kernel = object("times of the simulated kernel's own work", std::move(kernel_fields));
  json kernel_defaults = json::object();
  for (const auto& f : kernel->fields)
    if (f.default_value) kernel_defaults[f.key] = *f.default_value;

  return object(
      "a slabsim workload",
      {
          required("name", string(name_pattern, name_meaning),
                   "Short name of the workload, used in reports and results."),
          optional("description", string(), "Free text: what the scenario shows.", ""),
          optional("topology", string(),
                   "The topology the scenario is made for: a preset name, or a path (relative "
                   "to this file's folder); used when no topology is given on the command "
                   "line."),
          required("duration", duration(min_duration_ns),
                   "Simulated time the workload runs (at least 1 us)."),
          optional("time_bucket", duration(1),
                   "Width of the time buckets of the metrics over time (e.g. \"100us\"), at most "
                   "the duration and at least a 100000th of it; when absent, automatic: at least "
                   "100 buckets per run and 4 in each memory hotplug window."),
          optional("seed", integer(0, std::numeric_limits<std::int64_t>::max()),
                   "Seed of the random numbers; the same seed gives the same run.", 1),
          optional("event_tasks", integer(1, 64),
                   "How many tasks play the timed events, each on a CPU of its own added to the "
                   "first node: events due together run in parallel up to this many.",
                   4),
          optional("boot_caches", string(),
                   "A list of the caches a machine has after boot, as `slabsim topology import "
                   "--boot-caches` writes it (a path, relative to this file's folder): each is "
                   "made with kmem_cache_create() at boot, in the list's order, before the "
                   "workload's own caches; the kmalloc family, kmem_cache, kmem_cache_node and "
                   "names the workload declares itself are skipped."),
          required("caches", array(cache, 1), "The slab caches the workload uses."),
          optional("threads", array(thread), "Thread groups: allocating threads pinned to CPUs.",
                   json::array()),
          optional("kernel", kernel,
                   "Times of the simulated kernel's own work (hotplug per block, lock costs, "
                   "RCU grace period); each has the model's documented default.",
                   kernel_defaults),
          optional("events", array(event),
                   "Timed events: memory and CPU hotplug, cache create/destroy, sysfs shrink "
                   "and reads, notifier error injection, allocation and free bursts of objects and "
                   "pages.",
                   json::array()),
      });
}

}  // namespace

const std::vector<std::string>& event_keys() {
  static const std::vector<std::string> keys = {
      "memory_add",  "memory_online", "memory_offline", "memory_remove",
      "cpu_online",  "cpu_offline",   "cache_create",   "cache_destroy",
      "shrink",      "sysfs_read",    "inject_error",   "clear_error",
      "alloc_burst", "free_burst",    "page_burst",     "page_free",
  };
  return keys;
}

const std::vector<std::string>& fraction_keys() {
  static const std::vector<std::string> keys = {"alloc_node_fraction", "remote_free_fraction"};
  return keys;
}

const SpecPtr& workload_spec() {
  static const SpecPtr spec = make_spec();
  return spec;
}

bool validate_workload_document(const json& root, Diagnostics& out) {
  // What the Spec cannot check is checked here and replaced by a value the Spec accepts, so
  // each problem is reported once.
  json copy = root;
  bool ok = true;
  if (copy.is_object() && copy.contains("threads") && copy["threads"].is_array()) {
    auto& threads = copy["threads"];
    for (std::size_t i = 0; i < threads.size(); ++i) {
      if (!threads[i].is_object()) continue;
      const std::string p = pointer_append("/threads", i);
      if (threads[i].contains("cpus") && threads[i]["cpus"].is_string()) {
        json& cpus = threads[i]["cpus"];
        if (cpus != "all") {
          auto parsed = parse_cpulist(cpus, max_cpu_id);
          if (auto* why = std::get_if<std::string>(&parsed)) {
            out.error(pointer_append(p, "cpus"),
                      fmt::format("expected \"all\" or {}, got {}", *why, describe_value(cpus)));
            ok = false;
          }
        }
        cpus = json::array();
      }
    }
  }
  return workload_spec()->validate(copy, "", out) && ok;
}

json workload_json_schema() {
  json s = workload_spec()->json_schema();
  auto& thread = s["properties"]["threads"]["items"]["properties"];
  thread["cpus"]["oneOf"].push_back({{"const", "all"}});
  json files = json::array();
  for (auto name : alloc::sysfs_file_names())
    files.push_back(std::string(name));
  s["properties"]["events"]["items"]["properties"]["sysfs_read"]["properties"]["file"]["enum"] =
      files;
  s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  s["title"] = "slabsim workload";
  return s;
}

}  // namespace slabsim::workload
