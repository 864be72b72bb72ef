//! Real-time (`SCHED_FIFO`) scheduling priority for the executor's workers and for a host's audio
//! thread. Control-side set-up only: one system call per thread, when the thread starts.

use std::io::ErrorKind;

/// Why a thread could not be given real-time priority.
///
/// The usual cause is [`ErrorKind::PermissionDenied`] (`EPERM`): on Linux a process needs
/// `CAP_SYS_NICE` (root has it) or an `RLIMIT_RTPRIO` limit at least as high as the priority it
/// asks for (for example `@audio - rtprio 95` in `/etc/security/limits.d/`, the usual set-up of
/// audio distributions), and a container may be denied real-time time slices altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// This platform or build has no `SCHED_FIFO` through pthreads (not a Unix target, or a
    /// `cfg(loom)` model build, which never makes the system call).
    #[error("real-time thread priority is not supported on this platform")]
    Unsupported,
    /// The operating system did not report the `SCHED_FIFO` priority range.
    #[error("cannot read the SCHED_FIFO priority range: {kind} (os error {errno})")]
    PriorityRange {
        /// The `errno` value.
        errno: i32,
        /// Its [`ErrorKind`].
        kind: ErrorKind,
    },
    /// The operating system refused to switch the thread to `SCHED_FIFO`.
    #[error(
        "the operating system refused SCHED_FIFO priority {priority}: {kind} (os error {errno})"
    )]
    Refused {
        /// The priority asked for, after clamping to the `SCHED_FIFO` range.
        priority: i32,
        /// The error number `pthread_setschedparam` returned.
        errno: i32,
        /// Its [`ErrorKind`].
        kind: ErrorKind,
    },
}

impl RealtimeError {
    /// The error's kind: [`ErrorKind::PermissionDenied`] when the process lacks the privilege,
    /// [`ErrorKind::Unsupported`] on platforms without `SCHED_FIFO`.
    pub fn kind(&self) -> ErrorKind {
        match *self {
            RealtimeError::Unsupported => ErrorKind::Unsupported,
            RealtimeError::PriorityRange { kind, .. } | RealtimeError::Refused { kind, .. } => kind,
        }
    }
}

/// Switches the calling thread to `SCHED_FIFO` at `priority`, clamped to the range the operating
/// system reports (`sched_get_priority_min`/`max`: 1 to 99 on Linux).
///
/// For a host's or a benchmark's audio thread, so it runs at the same real-time priority as the
/// executor's workers (see [`ExecutorConfig::realtime_priority`](crate::ExecutorConfig)). Audio
/// APIs that already run their callback thread real-time (JACK, most ALSA set-ups through cpal)
/// need no call; a thread the host spawned itself does.
///
/// # Real-time contract
///
/// Set-up, control side: call it once, when the thread starts (for example on the first
/// callback, or before entering the audio loop), not per block. It makes three system calls and
/// does not allocate. On Linux, threads the caller spawns afterwards inherit the policy.
///
/// # Errors
///
/// [`RealtimeError::Refused`] (usually [`ErrorKind::PermissionDenied`]) when the process lacks
/// the privilege, [`RealtimeError::Unsupported`] off Unix. The thread keeps its previous policy.
///
/// # Examples
///
/// ```
/// use aether_parallel::promote_current_thread_to_realtime;
///
/// let audio_thread = std::thread::spawn(|| {
///     match promote_current_thread_to_realtime(70) {
///         Ok(()) => {}
///         // Without the privilege the thread still runs, at normal priority.
///         Err(error) => eprintln!("audio thread stays at normal priority: {error}"),
///     }
///     // ... the audio loop ...
/// });
/// audio_thread.join().unwrap();
/// ```
pub fn promote_current_thread_to_realtime(priority: u8) -> Result<(), RealtimeError> {
    imp::promote(priority)
}

#[cfg(all(unix, not(loom)))]
mod imp {
    use super::RealtimeError;

    /// `errno` after a failed libc call that reports through it.
    fn last_errno() -> i32 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    }

    fn kind_of(errno: i32) -> std::io::ErrorKind {
        std::io::Error::from_raw_os_error(errno).kind()
    }

    pub(super) fn promote(priority: u8) -> Result<(), RealtimeError> {
        // SAFETY: plain libc queries taking an integer and touching no memory of ours.
        let (min, max) = unsafe {
            (
                libc::sched_get_priority_min(libc::SCHED_FIFO),
                libc::sched_get_priority_max(libc::SCHED_FIFO),
            )
        };
        if min < 0 || max < min {
            let errno = last_errno();
            return Err(RealtimeError::PriorityRange {
                errno,
                kind: kind_of(errno),
            });
        }
        let priority = i32::from(priority).clamp(min, max);
        // SAFETY: `sched_param` is a C struct of integers, for which all-zero bytes are valid.
        let mut param: libc::sched_param = unsafe { core::mem::zeroed() };
        param.sched_priority = priority;
        // SAFETY: `pthread_self()` is the calling thread, alive for the call; `param` is a valid
        // `sched_param` that outlives the call, which only reads it.
        let errno =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
        if errno == 0 {
            Ok(())
        } else {
            Err(RealtimeError::Refused {
                priority,
                errno,
                kind: kind_of(errno),
            })
        }
    }
}

#[cfg(not(all(unix, not(loom))))]
mod imp {
    use super::RealtimeError;

    pub(super) fn promote(_priority: u8) -> Result<(), RealtimeError> {
        Err(RealtimeError::Unsupported)
    }
}
