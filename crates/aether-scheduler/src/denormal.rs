//! Flush-to-zero for the duration of audio processing.
//!
//! Denormal (subnormal) floats appear when filters and feedback paths decay towards silence and
//! can cost ~100x per operation on x86. While a [`DenormalGuard`] lives, the FPU flushes
//! subnormal results and inputs to zero; dropping it restores the caller's floating-point control
//! state exactly. On other architectures the guard does nothing.

/// Sets flush-to-zero on creation and restores the previous state on drop.
///
/// Create it at the start of an audio callback, on the thread that processes; it is not `Send`.
pub(crate) struct DenormalGuard {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    saved: usize,
    _not_send: core::marker::PhantomData<*const ()>,
}

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR bits: flush-to-zero (15) and denormals-are-zero (6).
    const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    pub(super) fn enable() -> usize {
        let mut saved: u32 = 0;
        // SAFETY: `stmxcsr` stores the 32-bit MXCSR to the pointed-to u32, which is valid and writable.
        unsafe {
            core::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack, preserves_flags))
        };
        let flushed = saved | FTZ_DAZ;
        // SAFETY: `ldmxcsr` loads a valid MXCSR value (the current one with two mode bits set) from a valid u32.
        unsafe {
            core::arch::asm!("ldmxcsr [{}]", in(reg) &flushed, options(nostack, preserves_flags, readonly))
        };
        saved as usize
    }

    pub(super) fn restore(saved: usize) {
        let saved = saved as u32;
        // SAFETY: restores the MXCSR value read in `enable`, from a valid u32.
        unsafe {
            core::arch::asm!("ldmxcsr [{}]", in(reg) &saved, options(nostack, preserves_flags, readonly))
        };
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR bit 24: flush-to-zero.
    const FZ: usize = 1 << 24;

    pub(super) fn enable() -> usize {
        let saved: usize;
        // SAFETY: reading FPCR has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, fpcr", out(reg) saved, options(nomem, nostack, preserves_flags))
        };
        // SAFETY: writes back the current FPCR with only the flush-to-zero mode bit set.
        unsafe {
            core::arch::asm!("msr fpcr, {}", in(reg) saved | FZ, options(nomem, nostack, preserves_flags))
        };
        saved
    }

    pub(super) fn restore(saved: usize) {
        // SAFETY: restores the FPCR value read in `enable`.
        unsafe {
            core::arch::asm!("msr fpcr, {}", in(reg) saved, options(nomem, nostack, preserves_flags))
        };
    }
}

impl DenormalGuard {
    /// Enables flush-to-zero until the guard is dropped.
    #[inline]
    pub(crate) fn new() -> Self {
        DenormalGuard {
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            saved: arch::enable(),
            _not_send: core::marker::PhantomData,
        }
    }
}

impl Drop for DenormalGuard {
    #[inline]
    fn drop(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        arch::restore(self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::DenormalGuard;

    #[test]
    fn subnormals_flush_inside_the_guard_and_state_is_restored() {
        let tiny = core::hint::black_box(f32::MIN_POSITIVE);
        let half = core::hint::black_box(0.5f32);
        let before = tiny * half;
        assert!(
            before.is_subnormal(),
            "without the guard the product is subnormal"
        );
        {
            let _guard = DenormalGuard::new();
            let inside = core::hint::black_box(tiny) * core::hint::black_box(half);
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert_eq!(inside, 0.0, "flush-to-zero must be on inside the guard");
            }
        }
        let after = core::hint::black_box(tiny) * core::hint::black_box(half);
        assert!(
            after.is_subnormal(),
            "the caller's floating-point state must be restored"
        );
    }
}
