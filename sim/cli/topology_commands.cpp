#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/snapshot_archive.hpp"
#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "config/units.hpp"
#include "topology/machine_import.hpp"
#include "topology/numactl_report.hpp"
#include "topology/presets.hpp"
#include "topology/qemu_command_line.hpp"
#include "topology/qemu_machine.hpp"
#include "topology/topology_format.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_loader.hpp"

namespace slabsim::cli {

namespace {

struct TopologyOptions {
  std::string topology = std::string(topology::default_preset);
  std::vector<std::string> files;
  std::string output;
  bool json = false;
  bool boot_caches_schema = false;
  topology::QemuBootFiles boot_files;
};

struct ImportOptions {
  std::string snapshot, output, boot_caches, name, hotplug_memory = "1GiB";
  std::string local_latency;  // empty: the default, with a note on stderr
  int offline_node_distance = 20;
};

// A flag value in the units of the topology format ("80ns", "1GiB"); exit 2 when malformed.
template <typename T>
T flag_value(const config::Parsed<T>& parsed, const char* flag, const std::string& given) {
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    std::cerr << fmt::format("slabsim: {}: expected {}, got \"{}\"\n", flag, *error, given);
    throw CLI::RuntimeError(exit_bad_input);
  }
  return std::get<T>(parsed);
}

void import_machine(const ImportOptions& o) {
  topology::ImportChoices choices;
  choices.name = o.name;
  choices.offline_node_distance = o.offline_node_distance;
  choices.hotplug_memory_bytes =
      flag_value(config::parse_size_bytes(o.hotplug_memory), "--hotplug-memory", o.hotplug_memory);
  if (!o.local_latency.empty())
    choices.local_latency_ns =
        flag_value(config::parse_duration_ns(o.local_latency), "--local-latency", o.local_latency);
  try {
    const SnapshotFolder folder(o.snapshot);
    const auto imported = topology::import_machine(folder.path(), choices);
    if (o.local_latency.empty())
      std::cerr << fmt::format(
          "slabsim: note: a snapshot has no latencies; local latency {} ns is a choice "
          "(--local-latency), written into the topology's description\n",
          choices.local_latency_ns);
    emit(imported.topology_text, o.output);
    if (!o.boot_caches.empty() && imported.boot_caches.empty())
      std::cerr << "slabsim: note: the snapshot holds no readable /sys/kernel/slab caches (its "
                   "MANIFEST's \"slab:\" line says why): the boot-cache list is empty\n";
    if (!o.boot_caches.empty())
      emit(topology::boot_caches_json(imported.boot_caches).dump(2) + "\n", o.boot_caches);
  } catch (const topology::SnapshotError& e) {
    std::cerr << "slabsim: " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  }
}

void add_import_command(CLI::App& topo) {
  auto o = std::make_shared<ImportOptions>();
  auto* import_cmd = topo.add_subcommand(
      "import",
      "Turn a snapshot of scripts/collect-machine (a folder or its .tar.gz) into a topology file");
  import_cmd->add_option("SNAPSHOT", o->snapshot, "The snapshot folder, or its .tar.gz")
      ->required();
  import_cmd->add_option("-o,--output", o->output,
                         "Write the topology here (atomically), not stdout");
  import_cmd->add_option("--boot-caches", o->boot_caches,
                         "Also write the machine's slab caches as JSON "
                         "(topologies/schema/boot-caches.schema.json)");
  import_cmd->add_option("--name", o->name,
                         "Topology name (default: from the snapshot folder's name)");
  import_cmd->add_option("--local-latency", o->local_latency,
                         "Latency of a local access, a choice: sysfs has none (default 80ns)");
  import_cmd
      ->add_option("--offline-node-distance", o->offline_node_distance,
                   "SLIT distance of a possible node that is not online, which sysfs does not "
                   "show (default 20, REMOTE_DISTANCE)")
      ->check(CLI::Range(11, 255));
  import_cmd
      ->add_option("--hotplug-memory", o->hotplug_memory,
                   "Absent normal memory given to a node with neither CPUs nor memory, for "
                   "workloads to hot-add")
      ->capture_default_str();
  import_cmd->callback([o] { import_machine(*o); });
}

// Each failure surfaces as an exception the caller maps to an exit status; `validate` keeps
// going over all files and reports every one.
int validate_files(const std::vector<std::string>& files) {
  int status = exit_ok;
  for (const auto& f : files) {
    try {
      const auto t = topology::load_topology(f);
      std::cout << fmt::format("{}: ok ({}: {} node{}, {} CPU{}, {} memory block{})\n", f, t.name,
                               t.node_count(), t.node_count() == 1 ? "" : "s", t.cpu_ids().size(),
                               t.cpu_ids().size() == 1 ? "" : "s", t.blocks.size(),
                               t.blocks.size() == 1 ? "" : "s");
    } catch (const config::ConfigError& e) {
      std::cerr << e.what() << '\n';
      status = exit_bad_input;
    }
  }
  return status;
}

// `topology qemu`: the same resolution and errors as `show`, then the QEMU machine's own
// refusals (exit 2, file and JSON path). What QEMU cannot express goes to stderr in the text
// form, so the command on stdout stays runnable; the JSON carries it as "not_expressed".
void add_qemu_command(CLI::App& topo, const std::shared_ptr<TopologyOptions>& opts) {
  auto* qemu = topo.add_subcommand(
      "qemu",
      "Print the qemu-system-x86_64 command line (QEMU 7.2, Linux 6.1 guest) that boots the "
      "machine, and the QMP commands that hot-plug its absent memory");
  qemu->add_option("TOPOLOGY", opts->topology, "A topology file or preset name")
      ->capture_default_str();
  qemu->add_flag("--json", opts->json,
                 "Print the machine as JSON (arguments, kernel command line, planned DIMMs)");
  qemu->add_option("--kernel", opts->boot_files.kernel, "The guest kernel (-kernel)")
      ->capture_default_str();
  qemu->add_option("--initrd", opts->boot_files.initrd, "The guest initramfs (-initrd)")
      ->capture_default_str();
  qemu->add_option("--qmp", opts->boot_files.qmp_socket,
                   "Add a QMP server on this Unix socket path (-qmp unix:SOCK,server=on,wait=off)");
  qemu->add_option("-o,--output", opts->output,
                   "Write to this file (atomically) instead of stdout");
  qemu->callback([opts] {
    const auto document = topology::topology_document(opts->topology);
    const auto m = topology::qemu_machine(topology::load_topology(document), document.name);
    if (opts->json) {
      emit(topology::to_json(m).dump(2) + "\n", opts->output);
      return;
    }
    for (const auto& n : m.not_expressed)
      std::cerr << fmt::format("slabsim: note: {}: {}: not expressed in QEMU: {}\n", document.name,
                               n.path, n.why);
    emit(topology::qemu_shell_command(m, opts->boot_files), opts->output);
  });
}

}  // namespace

void emit(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::cout << text << std::flush;
    return;
  }
  try {
    config::write_file_atomically(path, text);
  } catch (const std::runtime_error& e) {
    // An output path the user gave that cannot be written is bad input, not a crash.
    std::cerr << "slabsim: " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  }
}

void check_output(const std::string& path, bool directory) {
  if (path.empty() || path == "-") return;
  std::string reason;
  if (directory) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec)
      reason = ec.message();
    else if (!std::filesystem::is_directory(path))
      reason = "it is not a directory";
    else
      reason = config::unwritable_reason(std::filesystem::path(path) / "result.json");
  } else {
    reason = config::unwritable_reason(path);
  }
  if (reason.empty()) return;
  std::cerr << fmt::format("slabsim: cannot write {}: {}\n", path, reason);
  throw CLI::RuntimeError(exit_bad_input);
}

void add_topology_commands(CLI::App& app) {
  auto opts = std::make_shared<TopologyOptions>();
  auto* topo = app.add_subcommand("topology", "Show, check and list NUMA machine descriptions");
  topo->require_subcommand(1);

  auto* list = topo->add_subcommand("list", "List the presets compiled into slabsim");
  list->callback([] {
    for (const auto& name : topology::preset_names()) {
      const auto t = topology::load_topology(name);
      std::cout << fmt::format("{:<22} {}{}\n", name, t.description,
                               name == topology::default_preset ? " (default)" : "");
    }
  });

  auto* show = topo->add_subcommand(
      "show",
      "Print a machine as numactl --hardware does, plus latencies, memory blocks, node "
      "states and fallback order");
  show->add_option("TOPOLOGY", opts->topology, "A topology file or preset name")
      ->capture_default_str();
  show->add_flag("--json", opts->json, "Print the resolved machine as JSON instead");
  show->add_option("-o,--output", opts->output,
                   "Write to this file (atomically) instead of stdout");
  show->callback([opts] {
    const auto t = topology::load_topology(opts->topology);
    emit(opts->json ? topology::to_json(t).dump(2) + "\n" : topology::show_topology(t),
         opts->output);
  });

  add_qemu_command(*topo, opts);

  auto* validate = topo->add_subcommand("validate", "Check topology files; exit 2 if any is wrong");
  validate->add_option("TOPOLOGY", opts->files, "Topology files or preset names")->required();
  validate->callback([opts] {
    if (int status = validate_files(opts->files); status != exit_ok)
      throw CLI::RuntimeError(status);
  });

  auto* schema = topo->add_subcommand(
      "schema", "Print the JSON Schema of topology files (topologies/schema/topology.schema.json)");
  schema->add_option("-o,--output", opts->output, "Write to this file (atomically)");
  schema->add_flag("--boot-caches", opts->boot_caches_schema,
                   "The schema of `import --boot-caches` lists instead "
                   "(topologies/schema/boot-caches.schema.json)");
  schema->callback([opts] {
    const bool caches = opts->boot_caches_schema;
    nlohmann::json s =
        (caches ? topology::boot_caches_spec() : topology::topology_spec())->json_schema();
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
    s["title"] = caches ? "slabsim boot caches" : "slabsim topology";
    emit(s.dump(2) + "\n", opts->output);
  });

  add_import_command(*topo);
}

}  // namespace slabsim::cli
