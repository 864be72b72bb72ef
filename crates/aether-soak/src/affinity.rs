//! Which CPU the engine's audio thread runs on.
//!
//! A real-time audio thread that the kernel moves to another CPU in the middle of a block
//! finishes that block on a core whose caches hold none of the engine's state: the soak's
//! slow-block forensics showed every on-CPU deadline miss it caught coinciding with such a move
//! (one involuntary context switch, a different CPU at the end of the block). Real-time hosts
//! therefore pin their audio thread, and so does the soak by default: to the CPU that has
//! serviced the fewest device interrupts since boot (whose handlers would otherwise run on the
//! audio thread's time), chosen on the control side before the engine starts.

use std::io;

use crate::forensics::CounterTable;

/// Where the engine's audio thread should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCpu {
    /// Pin it to the allowed CPU with the fewest device interrupts (see [`quietest_cpu`]);
    /// unpinned when that cannot be determined.
    Auto,
    /// Pin it to this CPU.
    Cpu(usize),
    /// Leave it where the host's scheduler puts it.
    Unpinned,
}

/// The CPU among `allowed` whose device interrupts (the numbered lines of `/proc/interrupts`,
/// not the architecture's per-CPU timer and IPI lines) total the least in `interrupts_text`.
/// Ties go to the lower CPU. `None` if the text cannot be parsed or no allowed CPU appears in
/// it.
pub fn quietest_cpu(interrupts_text: &str, allowed: &[usize]) -> Option<usize> {
    let table = CounterTable::parse_layout(interrupts_text)?;
    let mut values = vec![0u64; table.width()];
    if !table.parse_values(interrupts_text.as_bytes(), &mut values) {
        return None;
    }
    let mut totals = vec![0u64; table.cpus];
    for (line, row) in table.lines.iter().zip(values.chunks(table.cpus)) {
        let device = !line.label.is_empty() && line.label.bytes().all(|b| b.is_ascii_digit());
        if device && line.per_cpu {
            for (total, &count) in totals.iter_mut().zip(row) {
                *total = total.saturating_add(count);
            }
        }
    }
    allowed
        .iter()
        .copied()
        .filter(|&cpu| cpu < totals.len())
        .min_by_key(|&cpu| (totals[cpu], cpu))
}

/// The CPUs this thread may run on (`sched_getaffinity`).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: `cpu_set_t` is plain old data; all-zero bytes are a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t` of the size passed.
    let status =
        unsafe { libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
    // SAFETY: `CPU_ISSET` only reads `set`, and `cpu` is below `CPU_SETSIZE`.
    Ok((0..max)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// The CPUs this thread may run on; unknown on this platform.
#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "CPU affinity is only supported on Linux",
    ))
}

/// The CPU [`AudioCpu`] asks for, resolved on the control side: `Ok(None)` for unpinned.
/// `Auto` reads `/proc/interrupts`; when that fails it falls back to unpinned (`Ok(None)`), since
/// pinning is a refinement, not a requirement.
pub fn resolve(choice: AudioCpu) -> io::Result<Option<usize>> {
    match choice {
        AudioCpu::Unpinned => Ok(None),
        AudioCpu::Cpu(cpu) => {
            let allowed = allowed_cpus()?;
            if allowed.contains(&cpu) {
                Ok(Some(cpu))
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cpu{cpu} is not one of this process's CPUs {allowed:?}"),
                ))
            }
        }
        AudioCpu::Auto => {
            let Ok(allowed) = allowed_cpus() else {
                return Ok(None);
            };
            if allowed.len() < 2 {
                return Ok(None);
            }
            Ok(std::fs::read_to_string("/proc/interrupts")
                .ok()
                .and_then(|text| quietest_cpu(&text, &allowed)))
        }
    }
}

/// Pins the calling thread to `cpu` (`sched_setaffinity`). One system call: meant for a
/// thread's start (JACK's thread-init callback), not for every block.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= usize::try_from(libc::CPU_SETSIZE).unwrap_or(0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cpu{cpu} is beyond the CPU set size"),
        ));
    }
    // SAFETY: `cpu_set_t` is plain old data; all-zero bytes are a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `cpu` is below `CPU_SETSIZE` (checked above); `CPU_SET` writes only into `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; 0 names the calling thread.
    let status =
        unsafe { libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling thread; unsupported on this platform.
#[cfg(not(target_os = "linux"))]
pub fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "CPU affinity is only supported on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERRUPTS: &str = include_str!("../testdata/proc_interrupts.txt");

    #[test]
    fn the_quietest_cpu_counts_device_interrupts_only() {
        let text = "           CPU0       CPU1       \n\
                    \x20 1:          9          0   IO-APIC   1-edge      i8042\n\
                    \x2024:        100       5000   PCI-MSI 1-edge      virtio1-req.0\n\
                    LOC:     900000         10   Local timer interrupts\n\
                    ERR:          0\n";
        // CPU1 has by far the fewest timer ticks, but the most device interrupts.
        assert_eq!(quietest_cpu(text, &[0, 1]), Some(0));
        assert_eq!(quietest_cpu(text, &[1]), Some(1), "only allowed CPUs");
        assert_eq!(quietest_cpu(text, &[5]), None, "no such column");
        assert_eq!(quietest_cpu("garbage", &[0, 1]), None);
        let tie = "     CPU0  CPU1\n  7:  3  3  x\n";
        assert_eq!(
            quietest_cpu(tie, &[1, 0]),
            Some(0),
            "ties go to the lower CPU"
        );
    }

    #[test]
    fn the_captured_file_gives_a_cpu() {
        let cpu = quietest_cpu(INTERRUPTS, &[0, 1]).expect("the fixture parses");
        assert!(cpu < 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pinning_a_thread_keeps_it_on_that_cpu() {
        let allowed = allowed_cpus().expect("sched_getaffinity works on Linux");
        assert!(!allowed.is_empty());
        let target = *allowed.last().expect("non-empty");
        let seen = std::thread::spawn(move || {
            pin_current_thread(target).expect("an allowed CPU");
            let after = allowed_cpus().expect("sched_getaffinity");
            // SAFETY: sched_getcpu takes no arguments and touches no memory.
            #[allow(unsafe_code)]
            let running_on = unsafe { libc::sched_getcpu() };
            (after, running_on)
        })
        .join()
        .expect("the thread ran");
        assert_eq!(seen.0, vec![target]);
        assert_eq!(usize::try_from(seen.1).ok(), Some(target));
        assert!(pin_current_thread(usize::MAX).is_err());
        assert_eq!(resolve(AudioCpu::Unpinned).ok(), Some(None));
        assert!(resolve(AudioCpu::Cpu(100_000)).is_err());
        assert_eq!(resolve(AudioCpu::Cpu(target)).ok(), Some(Some(target)));
    }
}
