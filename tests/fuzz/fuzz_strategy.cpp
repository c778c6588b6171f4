// libFuzzer target: a strategy file (workloads/strategies/README.md) through load_strategy().
#include "fuzz_input.hpp"
#include "strategy/strategy_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto document = slabsim::fuzz::parse(data, size);
  if (!document) return 0;
  try {
    (void)slabsim::strategy::load_strategy(*document);
  } catch (const slabsim::config::ConfigError&) {
  }
  return 0;
}
