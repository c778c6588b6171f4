// Host time of the SLUB model's fast paths with a single-threaded environment. The goal for
// an alloc+free pair is 15 ns (native SLUB: ~11 ns, reference/hardware-numbers.md 3.4).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "allocator/make_allocator.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slub/slub.hpp"
#include "allocator/strategy.hpp"

namespace {

using namespace slabsim::alloc;

// The cheapest honest environment: time and memory-access costs are accumulated, locks are
// counted (never contended: one thread), IPIs run at once.
class BenchEnvironment : public Environment {
 public:
  explicit BenchEnvironment(const MachineLayout& l) : layout_(l) {}
  int cpu = 0;
  std::int64_t time = 0;
  std::uint64_t locks = 0;
  int current_cpu() override { return cpu; }
  std::int64_t now_ns() override { return time; }
  void charge(std::int64_t ns) override { time += ns; }
  using Environment::touch_memory;
  void touch_memory(int node) override {
    time += 8 * layout_.distance[layout_.cpu_node[cpu]][node];
  }
  void sync() override {}
  void lock(LockClass, std::uint64_t, LockMode, const char*) override { ++locks; }
  void unlock(LockClass, std::uint64_t, LockMode) override {}
  bool try_lock(LockClass, std::uint64_t, LockMode, const char*) override {
    ++locks;
    return true;
  }
  void irq_disable() override {}
  void irq_enable() override {}
  void run_on_cpu(int target, const std::function<void()>& fn) override {
    const int saved = cpu;
    cpu = target;
    fn();
    cpu = saved;
  }
  void call_rcu(std::function<void()> fn) override { fn(); }  // no grace period in the bench
  void rcu_barrier() override {}
  void schedule_work(std::function<void()> fn) override { fn(); }
  std::uint64_t random() override { return seed_ = seed_ * 6364136223846793005ull + 1; }

 private:
  const MachineLayout& layout_;
  std::uint64_t seed_ = 1;
};

MachineLayout bench_layout() {
  MachineLayout l;
  l.block_pages = 32768;
  l.cpu_node = {0, 0, 0, 0, 1, 1, 1, 1};
  l.distance = {{10, 21}, {21, 10}};
  for (int n = 0; n < 2; ++n)
    for (int b = 0; b < 16; ++b)
      l.blocks.push_back({n, ZoneType::normal, BlockPresence::online});
  return l;
}

struct Bench {
  MachineLayout layout = bench_layout();
  PageAllocator pages{layout};
  NodeStates states = boot_node_states(layout);
  BenchEnvironment env{layout};
  SlubAllocator slub{env, pages, states, *find_strategy_preset("slab_nodes_nocpu")};
  Cache* cache = slub.kmem_cache_create("bench-256", 256, 0, {});
};

// One object allocated and freed again: both fast paths.
void BM_AllocFreePair(benchmark::State& state) {
  Bench b;
  ObjectRef warm = b.slub.kmem_cache_alloc(b.cache, gfp_kernel);
  b.slub.kmem_cache_free(b.cache, warm);
  for (auto _ : state) {
    ObjectRef o = b.slub.kmem_cache_alloc(b.cache, gfp_kernel);
    benchmark::DoNotOptimize(o);
    b.slub.kmem_cache_free(b.cache, o);
  }
  state.counters["ns_per_pair"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AllocFreePair);

// The same pair as the simulator makes it: through the Allocator interface of an allocator
// from make_allocator(), whose type the call site does not know (one virtual call per operation).
void BM_AllocFreePairThroughInterface(benchmark::State& state) {
  const MachineLayout layout = bench_layout();
  PageAllocator pages{layout};
  NodeStates states = boot_node_states(layout);
  BenchEnvironment env{layout};
  const std::unique_ptr<Allocator> a = make_allocator(AllocatorKind::slub, env, pages, states,
                                                      *find_strategy_preset("slab_nodes_nocpu"));
  Cache* cache = a->kmem_cache_create("bench-256", 256, 0, {});
  ObjectRef warm = a->kmem_cache_alloc(cache, gfp_kernel);
  a->kmem_cache_free(cache, warm);
  for (auto _ : state) {
    ObjectRef o = a->kmem_cache_alloc(cache, gfp_kernel);
    benchmark::DoNotOptimize(o);
    a->kmem_cache_free(cache, o);
  }
  state.counters["ns_per_pair"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AllocFreePairThroughInterface);

// Batches larger than a slab: the slow paths (new slabs, cpu partial lists, deactivation)
// amortised over `batch` pairs.
void BM_AllocFreeBatch(benchmark::State& state) {
  Bench b;
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::vector<ObjectRef> objs(batch);
  for (auto _ : state) {
    for (auto& o : objs)
      o = b.slub.kmem_cache_alloc(b.cache, gfp_kernel);
    for (auto& o : objs)
      b.slub.kmem_cache_free(b.cache, o);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["ns_per_pair"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AllocFreeBatch)->Arg(16)->Arg(256)->Arg(4096);

// Objects freed by another CPU (remote frees into frozen slabs, refills).
void BM_CrossCpuFree(benchmark::State& state) {
  Bench b;
  std::vector<ObjectRef> objs(64);
  for (auto _ : state) {
    b.env.cpu = 0;
    for (auto& o : objs)
      o = b.slub.kmem_cache_alloc(b.cache, gfp_kernel);
    b.env.cpu = 5;
    for (auto& o : objs)
      b.slub.kmem_cache_free(b.cache, o);
  }
  state.counters["ns_per_pair"] =
      benchmark::Counter(static_cast<double>(state.iterations() * objs.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CrossCpuFree);

}  // namespace

BENCHMARK_MAIN();
