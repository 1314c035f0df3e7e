//! A small thread pool for splitting one product between threads, without
//! spinning.
//!
//! Why not a spinning pool (OpenMP, ggml): on shared 2-vCPU hosts a
//! spinning barrier collapses when the other vCPU is busy (ggml's 2-thread
//! GEMV measured 7 µs alone, 300–1000 µs under load here). Workers here
//! sleep on a channel and the caller sleeps on a condition variable; the
//! wake-up costs a few microseconds, so threads only pay off for large
//! products, and the default is one thread (no pool at all).

use std::{
    panic::{catch_unwind, resume_unwind, AssertUnwindSafe},
    sync::{mpsc, Arc, Condvar, Mutex},
    thread,
};

/// A job as sent to a worker: the task (its lifetime erased; see
/// [`ThreadPool::run`]), which part to run, and the latch to count down.
struct Job {
    task: *const (dyn Fn(usize) + Sync),
    part: usize,
    latch: Arc<Latch>,
}

// SAFETY: the task is `Sync`, and `run` keeps it alive until every job that
// points to it has counted down.
unsafe impl Send for Job {}

/// Counts finished parts; the caller waits for zero.
struct Latch {
    state: Mutex<(usize, bool)>,
    done: Condvar,
}

impl Latch {
    fn finish(&self, panicked: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        state.1 |= panicked;
        if state.0 == 0 {
            self.done.notify_all();
        }
    }

    /// Waits for every part; whether one panicked.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.0 > 0 {
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.1
    }
}

/// `threads - 1` sleeping workers; the calling thread is the last one.
pub struct ThreadPool {
    senders: Vec<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.threads())
            .finish()
    }
}

impl ThreadPool {
    /// A pool of `threads` threads in all (at least 1), counting the caller.
    pub fn new(threads: usize) -> ThreadPool {
        let mut senders = Vec::new();
        for i in 1..threads.max(1) {
            let (tx, rx) = mpsc::channel::<Job>();
            thread::Builder::new()
                .name(format!("hark-kernels-{i}"))
                .spawn(move || {
                    for job in rx {
                        // SAFETY: see `Job`.
                        let task = unsafe { &*job.task };
                        let result = catch_unwind(AssertUnwindSafe(|| task(job.part)));
                        job.latch.finish(result.is_err());
                    }
                })
                .expect("failed to spawn a kernel thread");
            senders.push(tx);
        }
        ThreadPool { senders }
    }

    /// Threads in all, counting the caller.
    pub fn threads(&self) -> usize {
        self.senders.len() + 1
    }

    /// Calls `task(part)` for every part in `0..parts`: parts `1..` go to
    /// workers (round robin), part 0 runs on the calling thread. Returns
    /// when all are done; re-raises a panic from any of them.
    pub fn run(&self, parts: usize, task: &(dyn Fn(usize) + Sync)) {
        if self.senders.is_empty() || parts <= 1 {
            (0..parts).for_each(task);
            return;
        }
        let latch = Arc::new(Latch {
            state: Mutex::new((parts - 1, false)),
            done: Condvar::new(),
        });
        // SAFETY (lifetime erasure): `wait` below returns only after every
        // job has run, so `task` outlives every use; `WaitOnDrop` keeps
        // that true when part 0 panics.
        let erased: *const (dyn Fn(usize) + Sync + '_) = task;
        let erased: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(erased) };
        struct WaitOnDrop<'a>(&'a Latch);
        impl Drop for WaitOnDrop<'_> {
            fn drop(&mut self) {
                if thread::panicking() {
                    self.0.wait();
                }
            }
        }
        let guard = WaitOnDrop(&latch);
        for part in 1..parts {
            let job = Job {
                task: erased,
                part,
                latch: latch.clone(),
            };
            let sender = &self.senders[(part - 1) % self.senders.len()];
            if let Err(mpsc::SendError(job)) = sender.send(job) {
                // The worker is gone (it cannot be: workers never exit
                // while the pool lives); run the part here.
                task(job.part);
                latch.finish(false);
            }
        }
        task(0);
        let panicked = latch.wait();
        drop(guard);
        if panicked {
            resume_unwind(Box::new("a kernel thread panicked"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_part_runs_once_on_up_to_n_threads() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool::new(threads);
            for parts in [0, 1, 2, 7] {
                let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                let names = Mutex::new(std::collections::BTreeSet::new());
                pool.run(parts, &|p| {
                    hits[p].fetch_add(1, Ordering::Relaxed);
                    names
                        .lock()
                        .unwrap()
                        .insert(format!("{:?}", thread::current().id()));
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                assert!(names.lock().unwrap().len() <= threads.min(parts.max(1)));
            }
        }
    }

    #[test]
    fn a_panicking_part_is_reraised_after_all_parts_finish() {
        let pool = ThreadPool::new(2);
        let finished = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(4, &|p| {
                if p == 1 {
                    panic!("part 1 fails");
                }
                finished.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        assert_eq!(finished.load(Ordering::Relaxed), 3);
        // The pool still works.
        pool.run(2, &|_| {});
    }
}
