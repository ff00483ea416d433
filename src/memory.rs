//! Memory given back to the OS once the server is quiet (issue 12, part 5).
//!
//! The server binary allocates through mimalloc, which keeps a page a
//! thread freed in that thread's heap and purges it lazily, on the thread's
//! later allocations; SQLite allocates through glibc's malloc, which keeps
//! its arenas. An idle server makes no allocations, so after a busy spell
//! its RSS stayed about 3 × its idle figure (`loadtests/README.md`).
//! [`Threads::give_back`] asks every thread that served the spell to
//! collect its own heap, then trims glibc's arenas.
//!
//! The only `unsafe` in the workspace: two C calls that take no pointer
//! and touch nothing but the allocator's own free lists.
#![allow(unsafe_code)]

use std::sync::Mutex;

use actix::{Arbiter, ArbiterHandle};

/// The arbiter threads (HTTP workers, calendars, the committer) whose heaps
/// are collected when the server goes quiet.
#[derive(Default)]
pub struct Threads {
    handles: Mutex<Vec<ArbiterHandle>>,
}

impl Threads {
    /// Adds the arbiter this is called on (an HTTP worker registers itself
    /// when it builds its `App`).
    pub fn register_current(&self) {
        self.register(Arbiter::current());
    }

    pub fn register(&self, handle: ArbiterHandle) {
        self.lock().push(handle);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ArbiterHandle>> {
        self.handles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Collects the heap of every registered thread (on that thread, in
    /// its turn) and of this one, then trims glibc's arenas. Forgets the
    /// arbiters that have stopped. Returns how many threads were asked.
    pub fn give_back(&self) -> usize {
        let mut handles = self.lock();
        handles.retain(|handle| handle.spawn_fn(collect_this_thread));
        collect_this_thread();
        trim_c_heap();
        handles.len()
    }
}

/// Frees what mimalloc holds unused for this thread, and purges the pages
/// of its segments and arenas that wait for a later allocation.
fn collect_this_thread() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any
    // thread at any time; it only releases memory mimalloc holds free.
    // Where mimalloc is not the global allocator (tests), it has only its
    // own empty heap to look at.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Returns the free memory at the top of glibc's heap and the free pages
/// inside its arenas (SQLite's page cache and statements live there).
fn trim_c_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer; glibc locks each arena while
    // it trims it, so other threads may allocate meanwhile.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[actix::test]
    async fn every_live_thread_is_asked_and_stopped_ones_are_forgotten() {
        let threads = Threads::default();
        let staying = Arbiter::new();
        let leaving = Arbiter::new();
        threads.register(staying.handle());
        threads.register(leaving.handle());
        assert_eq!(threads.give_back(), 2);

        leaving.stop();
        tokio::task::spawn_blocking(move || leaving.join())
            .await
            .expect("the arbiter's thread joins")
            .expect("it stopped cleanly");
        assert_eq!(threads.give_back(), 1);
        assert_eq!(threads.give_back(), 1, "the live one stays registered");
        staying.stop();
    }
}
