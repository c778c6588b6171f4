// libFuzzer target: a sweep plan (python/README's sweep format) through load_sweep_plan().
#include "fuzz_input.hpp"
#include "run/sweep_plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto document = slabsim::fuzz::parse(data, size);
  if (!document) return 0;
  try {
    (void)slabsim::sim::load_sweep_plan(*document);
  } catch (const slabsim::config::ConfigError&) {
  }
  return 0;
}
