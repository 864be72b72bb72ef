//! The calling thread's CPU time, to tell a block that used too much CPU from one whose thread
//! was not running (preempted or stalled by the machine).

/// CPU time the calling thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`); `None`
/// where the clock is unavailable.
///
/// Real-time safe: one `clock_gettime` call, no allocation, no lock.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn thread_cpu_ns() -> Option<u64> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec` that outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    if status != 0 {
        return None;
    }
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u64::try_from(time.tv_nsec).ok()?;
    Some(seconds.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// CPU time the calling thread has used; unavailable on this platform.
#[cfg(not(unix))]
pub fn thread_cpu_ns() -> Option<u64> {
    None
}

/// What `getrusage(RUSAGE_THREAD)` says about the calling thread: page faults and context
/// switches so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadUsage {
    /// Page faults, minor plus major.
    pub page_faults: u64,
    /// Voluntary context switches (the thread blocked or yielded).
    pub voluntary_switches: u64,
    /// Involuntary context switches (the thread was preempted).
    pub involuntary_switches: u64,
}

/// Page faults and context switches of the calling thread (`getrusage(RUSAGE_THREAD)`); `None`
/// where that is unavailable.
///
/// A fault inside the audio callback means the engine touched memory the kernel had not mapped
/// yet (memory allocated but never written by the control side): a stall of microseconds per
/// page that a real-time engine should not take.
///
/// Real-time safe: one `getrusage` call, no allocation, no lock.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn thread_usage() -> Option<ThreadUsage> {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` that outlives the call.
    let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if status != 0 {
        return None;
    }
    let minor = u64::try_from(usage.ru_minflt).ok()?;
    let major = u64::try_from(usage.ru_majflt).ok()?;
    Some(ThreadUsage {
        page_faults: minor + major,
        voluntary_switches: u64::try_from(usage.ru_nvcsw).ok()?,
        involuntary_switches: u64::try_from(usage.ru_nivcsw).ok()?,
    })
}

/// Page faults and context switches of the calling thread; unavailable on this platform.
#[cfg(not(target_os = "linux"))]
pub fn thread_usage() -> Option<ThreadUsage> {
    None
}

/// Page faults (minor plus major) the calling thread has taken (`getrusage(RUSAGE_THREAD)`);
/// `None` where that is unavailable. See [`thread_usage`].
///
/// Real-time safe: one `getrusage` call, no allocation, no lock.
pub fn thread_page_faults() -> Option<u64> {
    thread_usage().map(|usage| usage.page_faults)
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock `std::time::Instant` reads on Linux, and the one
/// the interrupt sampler timestamps its samples with, so block and sample times compare.
///
/// Real-time safe: one `clock_gettime` call (served by the vDSO on Linux), no allocation.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn monotonic_ns() -> u64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec` that outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut time) };
    if status != 0 {
        return 0;
    }
    let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(time.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// A monotonic clock in nanoseconds (since the first call) where `CLOCK_MONOTONIC` is not
/// available.
#[cfg(not(unix))]
pub fn monotonic_ns() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The CPU the calling thread is running on (`sched_getcpu`, a vDSO call on x86-64 Linux);
/// `None` where unknown.
///
/// Real-time safe: no allocation, no lock.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn current_cpu() -> Option<u32> {
    // SAFETY: sched_getcpu(3) takes no arguments and touches no caller memory.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).ok()
}

/// The CPU the calling thread runs on; unknown on this platform.
#[cfg(not(target_os = "linux"))]
pub fn current_cpu() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_with_work_and_not_with_sleep() {
        let Some(start) = thread_cpu_ns() else {
            return; // no thread CPU clock here
        };
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let after_work = thread_cpu_ns().expect("clock");
        assert!(after_work > start);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let after_sleep = thread_cpu_ns().expect("clock");
        // Sleeping 50 ms costs far less than 50 ms of CPU.
        assert!(after_sleep - after_work < 25_000_000);
    }

    #[test]
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn counts_the_faults_of_fresh_pages() {
        const LEN: usize = 64 * 4096;
        let Some(before) = thread_page_faults() else {
            return; // not available here
        };
        // 64 pages of a fresh anonymous mapping (not the heap, whose pages other tests running
        // in parallel may already have touched): writing them faults each one in.
        // SAFETY: a new private anonymous mapping; no existing memory is affected.
        let pages = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(pages, libc::MAP_FAILED);
        // SAFETY: `pages` is a writable mapping of LEN bytes that nothing else uses.
        unsafe { core::ptr::write_bytes(pages.cast::<u8>(), 1, LEN) };
        let after = thread_page_faults().expect("getrusage");
        // SAFETY: unmaps exactly the mapping created above, which is not used afterwards.
        unsafe { libc::munmap(pages, LEN) };
        assert!(after >= before + 16, "{before} -> {after}");
    }

    #[test]
    fn sleeping_is_a_voluntary_switch_and_the_clocks_move() {
        let Some(before) = thread_usage() else {
            return; // not available here
        };
        let started = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = thread_usage().expect("getrusage");
        assert!(after.voluntary_switches > before.voluntary_switches);
        // nanosleep sleeps at least as long as asked, on this same clock.
        assert!(monotonic_ns() >= started + 2_000_000);
    }
}
