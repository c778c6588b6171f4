// libFuzzer target: a sweep plan (python/README's sweep format) through load_sweep_plan().
#include "fuzz_input.hpp"
#include "run/sweep_plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return slabsim::fuzz::load_or_reject(
      data, size, [](const auto& d) { return slabsim::sim::load_sweep_plan(d); });
}
