"""kernel-check harness: boots the real kernel under QEMU and plays plans in
it (see kernel-check/README.md). Standard library only."""
