// Reading JSON input files: comments allowed, syntax errors and duplicate keys reported with
// the file name, never silently accepted.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace slabsim::config {

struct JsonDocument {
  std::string name;  // what diagnostics call the file
  nlohmann::json root;
};

// Parses `text` (JSON with // and /* */ comments). `name` is used in diagnostics.
// Throws ConfigError on a syntax error or a key repeated within one object.
JsonDocument parse_json_document(const std::string& text, std::string name);

// Reads and parses a file; a missing or unreadable file is a ConfigError too.
JsonDocument load_json_document(const std::filesystem::path& path);

// Writes `text` to `path` atomically: a temporary file in the same directory, then rename, so an
// interrupted run never leaves a half-written file behind. Throws std::runtime_error on failure.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);
// Removes the temporary file of a write_file_atomically() in progress, if any: for a handler of
// a signal that ends the process (async-signal-safe: one unlink()).
void remove_pending_temporary_file() noexcept;
// Whether a file can be created at `path` (its directory exists, a file can be created in it,
// and `path` is not a directory): "" if so, else the reason. Checked before a run, so that a bad -o
// fails before the work rather than after it.
std::string unwritable_reason(const std::filesystem::path& path);

}  // namespace slabsim::config
