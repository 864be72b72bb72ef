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

/// Page faults (minor plus major) the calling thread has taken (`getrusage(RUSAGE_THREAD)`);
/// `None` where that is unavailable.
///
/// A fault inside the audio callback means the engine touched memory the kernel had not mapped
/// yet (memory allocated but never written by the control side): a stall of microseconds per
/// page that a real-time engine should not take.
///
/// Real-time safe: one `getrusage` call, no allocation, no lock.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn thread_page_faults() -> Option<u64> {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` that outlives the call.
    let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if status != 0 {
        return None;
    }
    let minor = u64::try_from(usage.ru_minflt).ok()?;
    let major = u64::try_from(usage.ru_majflt).ok()?;
    Some(minor + major)
}

/// Page faults of the calling thread; unavailable on this platform.
#[cfg(not(target_os = "linux"))]
pub fn thread_page_faults() -> Option<u64> {
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
    fn counts_the_faults_of_fresh_pages() {
        let Some(before) = thread_page_faults() else {
            return; // not available here
        };
        // 64 pages the kernel has not mapped yet: writing them faults each one in.
        let mut pages = Vec::<u8>::with_capacity(64 * 4096);
        // SAFETY: capacity is 64 * 4096 bytes and u8 has no invalid values; every byte is
        // written before it is read.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::write_bytes(pages.as_mut_ptr(), 1, 64 * 4096);
            pages.set_len(64 * 4096);
        }
        std::hint::black_box(&pages);
        let after = thread_page_faults().expect("getrusage");
        assert!(after >= before + 16, "{before} -> {after}");
    }
}
