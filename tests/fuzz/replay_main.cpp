// The fuzz targets without libFuzzer (a GCC build, as the sanitizer pass of scripts/test is):
// every input file given, then `--mutations N` inputs made from them by a fixed-seed mutator
// (byte flips, inserted and deleted runs, splices of two inputs, repeated fragments), each
// through LLVMFuzzerTestOneInput(). What libFuzzer would call a crash ends this process the same
// way. A blind mutator finds far less than libFuzzer's coverage-guided one (scripts/fuzz); here
// it keeps every seed and past finding passing and explores briefly around them.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --last-input: each input is written there before it runs, so that the one that ended the
// process (an abort, the OOM killer) can be kept as a finding.
std::string last_input_path;

void run(const Bytes& input) {
  if (!last_input_path.empty()) {
    std::ofstream out(last_input_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size()));
  }
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

Bytes mutate(const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  Bytes b = seeds[pick(seeds.size())];
  const int steps = 1 + static_cast<int>(pick(4));
  for (int s = 0; s < steps; ++s) {
    switch (pick(6)) {
      case 0:  // flip a byte
        if (!b.empty()) b[pick(b.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
        break;
      case 1: {  // delete a run
        if (b.empty()) break;
        const std::size_t at = pick(b.size());
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), at + 1 + pick(16))));
        break;
      }
      case 2: {  // insert a JSON-ish byte
        static constexpr char tokens[] = "{}[]:,\"-0123456789e.tfn \\";
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)),
                 static_cast<std::uint8_t>(tokens[pick(sizeof(tokens) - 1)]));
        break;
      }
      case 3: {  // splice: a run of another input in place of a run of this one
        const Bytes& other = seeds[pick(seeds.size())];
        if (other.empty() || b.empty()) break;
        const std::size_t from = pick(other.size()), len = 1 + pick(64);
        const std::size_t at = pick(b.size());
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), at + pick(64))));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at),
                 other.begin() + static_cast<std::ptrdiff_t>(from),
                 other.begin() + static_cast<std::ptrdiff_t>(std::min(other.size(), from + len)));
        break;
      }
      case 4: {  // repeat a fragment
        if (b.empty()) break;
        const std::size_t from = pick(b.size()), len = 1 + pick(32);
        const Bytes frag(b.begin() + static_cast<std::ptrdiff_t>(from),
                         b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), from + len)));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), frag.begin(),
                 frag.end());
        break;
      }
      default: {  // replace a number-like byte with an extreme
        static const std::string extremes[] = {
            "-1",    "0", "1e308", "18446744073709551616", "2147483648", "-9223372036854775809",
            "1e-400"};
        const std::string& e = extremes[pick(std::size(extremes))];
        for (std::size_t i = 0; i < b.size(); ++i)
          if (b[i] >= '0' && b[i] <= '9' && pick(4) == 0) {
            b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(i), e.begin(), e.end());
            break;
          }
      }
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  std::uint64_t seed = 1;
  std::vector<Bytes> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--last-input" && i + 1 < argc) {
      last_input_path = argv[++i];
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files)
        inputs.push_back(read_file(f));
    } else {
      inputs.push_back(read_file(arg));
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] [--last-input FILE] FILE|DIR...\n",
                 argv[0]);
    return 2;
  }
  for (const auto& input : inputs)
    run(input);
  std::mt19937_64 rng(seed);
  for (long m = 0; m < mutations; ++m)
    run(mutate(inputs, rng));
  std::printf("%zu inputs and %ld mutations ran\n", inputs.size(), mutations);
  return 0;
}
