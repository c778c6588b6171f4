// Signal (sim/kernel/signal.hpp): observers are called in the order they connected, a
// disconnected one never again, and with none an emission calls nothing.
#include "kernel/signal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace slabsim::sim {
namespace {

TEST(Signal, ObserversAreCalledInTheOrderTheyConnected) {
  Signal<int, const std::string&> signal;
  std::vector<std::string> seen;
  signal.connect([&](int n, const std::string& s) { seen.push_back("a" + std::to_string(n) + s); });
  signal.connect([&](int n, const std::string& s) { seen.push_back("b" + std::to_string(n) + s); });
  signal(1, "x");
  signal(2, "y");
  EXPECT_EQ(seen, (std::vector<std::string>{"a1x", "b1x", "a2y", "b2y"}));
}

TEST(Signal, ADisconnectedObserverIsNotCalledAgain) {
  Signal<int> signal;
  std::vector<int> a, b;
  const auto first = signal.connect([&](int n) { a.push_back(n); });
  signal.connect([&](int n) { b.push_back(n); });
  signal(1);
  signal.disconnect(first);
  signal(2);
  EXPECT_EQ(a, std::vector<int>{1});
  EXPECT_EQ(b, (std::vector<int>{1, 2}));
  signal.disconnect(first);  // twice: nothing happens
  signal(3);
  EXPECT_EQ(b, (std::vector<int>{1, 2, 3}));
}

// What the emitters test before they build an event worth building only for an observer.
TEST(Signal, ObservedOnlyWhileSomeoneIsConnected) {
  Signal<int> signal;
  EXPECT_FALSE(signal.observed());
  signal(1);  // nobody to call
  int calls = 0;
  const auto c = signal.connect([&](int) { ++calls; });
  EXPECT_TRUE(signal.observed());
  signal(2);
  signal.disconnect(c);
  EXPECT_FALSE(signal.observed());
  signal(3);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace slabsim::sim
