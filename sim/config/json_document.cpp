#include "config/json_document.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/json_pointer.hpp"

namespace slabsim::config {

namespace {

using nlohmann::json;

// Tracks where the parser is, so a repeated key can be reported with its JSON path.
class DuplicateKeyFinder {
 public:
  explicit DuplicateKeyFinder(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        enter_value();
        frames_.push_back({true, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        enter_value();
        frames_.push_back({false, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        auto& frame = frames_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second)
          diagnostics_.error(pointer_of_key(),
                             fmt::format("key \"{}\" appears twice in this object; expected each "
                                         "key once",
                                         frame.key));
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        break;
      case json::parse_event_t::value:
        enter_value();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_object;
    std::size_t next_index;  // arrays: index of the next element
    std::string key;         // objects: the key being read
    std::set<std::string> keys;
  };

  // A value (scalar or container) starts inside the innermost container.
  void enter_value() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().next_index;
  }

  std::string pointer_of_key() const {
    std::string p;
    for (const auto& f : frames_)
      p += f.is_object ? pointer_append(std::string{}, f.key)
                       : pointer_append(std::string{}, f.next_index - 1);
    return p;
  }

  Diagnostics& diagnostics_;
  std::vector<Frame> frames_;
};

// nlohmann's messages start with "[json.exception.parse_error.101] parse error "; keep the rest.
std::string tidy_parse_message(const std::string& what) {
  std::string msg = what;
  if (auto close = msg.find("] ");
      msg.rfind("[json.exception", 0) == 0 && close != std::string::npos)
    msg = msg.substr(close + 2);
  if (msg.rfind("parse error ", 0) == 0) msg = msg.substr(12);
  return msg;
}

// Where the number `token` first stands as a value in `text`: outside strings and comments, not
// part of a longer token.
std::size_t find_number(const std::string& text, const std::string& token) {
  const auto is_number_char = [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {  // skip the string
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i = text.find("*/", i + 2);
      if (i == std::string::npos) break;
      ++i;
    } else if (is_number_char(c) && (i == 0 || !is_number_char(text[i - 1]))) {
      if (text.compare(i, token.size(), token) == 0 &&
          (i + token.size() == text.size() || !is_number_char(text[i + token.size()])))
        return i;
    }
  }
  return std::string::npos;
}

// "at line L, column C: number overflow parsing '1e400' (beyond a 64-bit float)" for nlohmann's
// "[json.exception.out_of_range.406] number overflow parsing '1e400'".
std::string number_overflow_message(const std::string& text, const std::string& what) {
  std::string msg = tidy_parse_message(what);
  const auto open = msg.find('\''), close = msg.rfind('\'');
  std::string where;
  if (open != std::string::npos && close > open + 1) {
    if (const auto at = find_number(text, msg.substr(open + 1, close - open - 1));
        at != std::string::npos) {
      const auto line_start = text.rfind('\n', at);
      const auto line =
          1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
      const auto column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
      where = fmt::format("at line {}, column {}: ", line, column);
    }
  }
  return where + msg + " (beyond a 64-bit float)";
}

}  // namespace

JsonDocument parse_json_document(const std::string& text, std::string name) {
  Diagnostics diagnostics(name);
  DuplicateKeyFinder finder(diagnostics);
  JsonDocument doc{std::move(name), {}};
  try {
    doc.root = json::parse(text, std::ref(finder), /*allow_exceptions=*/true,
                           /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    diagnostics.error("", "invalid JSON: " + tidy_parse_message(e.what()));
  } catch (const json::out_of_range& e) {
    // The lexer's number overflow (406): a number no double holds, such as 1e400. nlohmann
    // gives no position; the number it quotes leads to one.
    diagnostics.error("", "invalid JSON: " + number_overflow_message(text, e.what()));
  }
  diagnostics.throw_if_any();
  return doc;
}

JsonDocument load_json_document(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Diagnostics d(path.string());
    d.error("", fmt::format("cannot read the file: {}", std::strerror(errno)));
    d.throw_if_any();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_document(text.str(), path.string());
}

namespace {

// The temporary file being written, for remove_pending_temporary_file() in a signal handler.
char pending_temporary[4096];
volatile std::sig_atomic_t pending_temporary_set = 0;

class PendingTemporary {
 public:
  explicit PendingTemporary(const std::string& path) {
    if (path.size() >= sizeof pending_temporary) return;
    std::memcpy(pending_temporary, path.c_str(), path.size() + 1);
    pending_temporary_set = 1;
  }
  ~PendingTemporary() { pending_temporary_set = 0; }
  PendingTemporary(const PendingTemporary&) = delete;
  PendingTemporary& operator=(const PendingTemporary&) = delete;
};

}  // namespace

void remove_pending_temporary_file() noexcept {
  if (pending_temporary_set) ::unlink(pending_temporary);
}

std::string unwritable_reason(const std::filesystem::path& path) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return "the directory " + dir.string() + " does not exist";
  if (!std::filesystem::is_directory(dir, ec)) return dir.string() + " is not a directory";
  if (std::filesystem::is_directory(path, ec)) return "it is a directory";
  // Creating the temporary file is the test (root passes access(W_OK) on a read-only mount).
  std::string probe = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  // SIGINT and SIGTERM wait while the file is created and registered: a handler finds either
  // no file or a registered one. (After the rename, removing the old name finds nothing.)
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  const int fd = ::mkstemp(tmpl.data());
  const int create_errno = errno;
  std::optional<PendingTemporary> pending;
  if (fd >= 0) pending.emplace(tmpl);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot create a temporary file next to {}: {}",
                                         path.string(), std::strerror(create_errno)));
  const char* p = text.data();
  std::size_t left = text.size();
  bool ok = true;
  while (left > 0 && ok) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) {
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  const int saved_errno = errno;
  // mkstemp() creates the file 0600; a result file gets the permissions any new file would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ok = ok && ::fchmod(fd, 0666 & ~mask) == 0;
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved_errno;
    ::unlink(tmpl.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
  }
}

}  // namespace slabsim::config
