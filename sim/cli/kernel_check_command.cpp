// `kernel-check model`: slabsim's side of the ground-truth check (sim/check/): the document
// scripts/kernel-check turns into the guest's plan and compares the booted kernel against.
#include <fmt/format.h>

#include "check/model_run.hpp"
#include "cli/command.hpp"
#include "cli/run_setup.hpp"
#include "topology/qemu_machine.hpp"

namespace slabsim::cli {

void add_kernel_check_command(CLI::App& app) {
  auto* group =
      app.add_subcommand("kernel-check",
                         "slabsim's side of the check against the real kernel booted under QEMU "
                         "(scripts/kernel-check)");
  group->require_subcommand(1);
  auto opts = std::make_shared<RunCliOptions>();
  auto strategy = std::make_shared<std::string>("v6.1");
  auto* model = group->add_subcommand(
      "model",
      "Run a workload of the guest subset (kernel-check/README.md) and print, after every "
      "event, what the guest's sysfs would show, with the QEMU machine that boots the topology");
  add_input_options(model, *opts);
  add_allocator_option(model, *opts, false);
  model
      ->add_option("-s,--strategy", *strategy,
                   "Strategy preset or file: the kernel version the booted kernel is")
      ->capture_default_str();
  model->add_option("-o,--output", opts->output, "Write the JSON here (atomically)");
  model->callback([opts, strategy] {
    const sim::PreparedRun prepared = prepare(*opts, *strategy);
    const auto machine = topology::qemu_machine(prepared.machine, prepared.machine.name);
    emit(check::kernel_check_model(prepared, machine).dump(1) + "\n", opts->output);
  });
}

}  // namespace slabsim::cli
