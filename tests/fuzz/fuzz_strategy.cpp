// libFuzzer target: a strategy file (workloads/strategies/README.md) through load_strategy().
#include "fuzz_input.hpp"
#include "strategy/strategy_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return slabsim::fuzz::load_or_reject(
      data, size, [](const auto& d) { return slabsim::strategy::load_strategy(d); });
}
