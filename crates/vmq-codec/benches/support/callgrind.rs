//! Instruction counting under valgrind's callgrind, shared by the instruction-count benchmarks
//! (`vmq-codec/benches/icount.rs`, `vmq-broker/benches/icount_publish.rs`, which include this
//! file with `#[path]`): the benchmark runs itself as a child under callgrind, and only the
//! functions matching a pattern are counted, so the figure is stable on a noisy machine.

use std::process::Command;

/// Runs `exe` with `args` under callgrind, counting only functions whose name matches
/// `toggle` (a callgrind `--toggle-collect` pattern), and returns the instructions collected.
/// `what` names the case in error messages.
pub fn collected_instructions(
    exe: &str,
    toggle: &str,
    args: &[&str],
    what: &str,
) -> Result<u64, String> {
    let out = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            &format!("--toggle-collect={toggle}"),
            exe,
        ])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{what} failed:\n{stderr}"));
    }
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_owned())
        })
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("no instruction count in valgrind output:\n{stderr}"))
}
