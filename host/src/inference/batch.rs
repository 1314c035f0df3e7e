//! Dynamic batching of matrix products: concurrent `linear` calls on the
//! same matrix (the same layer of the same model, from different sessions'
//! nodes) run as one product over all their rows.
//!
//! Why it pays: a product streams the whole weight matrix through the
//! cache once per call, so a sentence of 12 tokens spends most of its
//! time loading weights; 32 sentences in one call load them once.
//!
//! How, without a timer: the first caller on an idle matrix runs at once
//! (batch size 1 when alone, so a single user pays nothing); callers that
//! arrive while a product runs queue up, and when it ends the next of
//! them takes the whole queue (up to the maximum batch) as one product.
//! Each caller's rows are computed exactly as they would be alone
//! (activations are quantized per row), so batching never changes a
//! result.
//!
//! Matrices are shared between nodes so that there is something to batch:
//! `Weights::shared_matrix` gives every node that asks for the same tensor
//! in the same format the same [`SharedMatrix`].

use std::{
    cell::RefCell,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};

use hark_kernels::{Activations, Kernels, QuantMatrix, ThreadPool};
use parking_lot::{Condvar, Mutex};

/// Most requests in one product (`HARK_BATCH_MAX`, `hark serve
/// --batch-max`); 1 turns batching off.
static MAX_BATCH: AtomicUsize = AtomicUsize::new(32);

/// Sets the largest batch (1 = no batching), process-wide.
pub fn set_max_batch(max: usize) {
    MAX_BATCH.store(max.max(1), Ordering::Relaxed);
}

/// The largest batch.
pub fn max_batch() -> usize {
    MAX_BATCH.load(Ordering::Relaxed)
}

/// Upper bounds of the batch-size histogram's buckets (the last is
/// everything larger).
pub const BATCH_BUCKETS: [u64; 7] = [1, 2, 4, 8, 16, 32, u64::MAX];

/// Batch sizes run so far, process-wide: count per bucket of
/// [`BATCH_BUCKETS`], and the sum.
static BATCHES: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static BATCHED_CALLS: AtomicU64 = AtomicU64::new(0);

/// Batches run so far: (count per bucket, not cumulative; sum of sizes).
pub fn batch_stats() -> ([u64; 7], u64) {
    (
        std::array::from_fn(|i| BATCHES[i].load(Ordering::Relaxed)),
        BATCHED_CALLS.load(Ordering::Relaxed),
    )
}

fn record(size: usize) {
    let bucket = BATCH_BUCKETS
        .iter()
        .position(|&b| size as u64 <= b)
        .unwrap_or(BATCH_BUCKETS.len() - 1);
    BATCHES[bucket].fetch_add(1, Ordering::Relaxed);
    BATCHED_CALLS.fetch_add(size as u64, Ordering::Relaxed);
}

/// A matrix that nodes share, with its batch queue.
pub struct SharedMatrix {
    /// The weights.
    pub matrix: QuantMatrix,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// A product is running (its caller will hand the queue on).
    busy: bool,
    waiting: Vec<*const Job>,
}

// SAFETY: the raw job pointers are only dereferenced while their owner
// waits for them (see `Job`), under the queue's lock or by the one thread
// that took them out of the queue.
unsafe impl Send for Queue {}

/// One caller's product; lives on its caller's stack until `state` says
/// it is done, which is why other threads may use its pointers.
struct Job {
    x: *const f32,
    x_len: usize,
    y: *mut f32,
    y_len: usize,
    state: Mutex<JobState>,
    wake: Condvar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JobState {
    Waiting,
    /// Computed by another thread.
    Done,
    /// Handed the queue: run it.
    Lead,
}

thread_local! {
    static ACTIVATIONS: RefCell<Activations> = RefCell::new(Activations::new());
    static STAGING: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl SharedMatrix {
    /// Wraps `matrix`.
    pub fn new(matrix: QuantMatrix) -> SharedMatrix {
        SharedMatrix {
            matrix,
            queue: Mutex::new(Queue::default()),
        }
    }

    /// `y = x · Wᵀ` for `x` of whole rows, batched with concurrent callers.
    pub fn matmul(&self, kernels: &Kernels, x: &[f32], y: &mut [f32], pool: Option<&ThreadPool>) {
        let max = max_batch();
        if max <= 1 {
            ACTIVATIONS.with_borrow_mut(|acts| self.matrix.matmul(kernels, x, y, acts, pool));
            record(1);
            return;
        }
        let job = Job {
            x: x.as_ptr(),
            x_len: x.len(),
            y: y.as_mut_ptr(),
            y_len: y.len(),
            state: Mutex::new(JobState::Waiting),
            wake: Condvar::new(),
        };
        let mut batch = {
            let mut queue = self.queue.lock();
            if queue.busy {
                queue.waiting.push(&job);
                drop(queue);
                let mut state = job.state.lock();
                while *state == JobState::Waiting {
                    job.wake.wait(&mut state);
                }
                if *state == JobState::Done {
                    return;
                }
                // Promoted: this thread runs the queue, itself first.
                let mut queue = self.queue.lock();
                let mut batch = vec![&job as *const Job];
                let take = queue.waiting.len().min(max - 1);
                batch.extend(queue.waiting.drain(..take));
                batch
            } else {
                queue.busy = true;
                let take = queue.waiting.len().min(max - 1);
                let mut batch = vec![&job as *const Job];
                batch.extend(queue.waiting.drain(..take));
                batch
            }
        };
        // SAFETY: every job in `batch` is this caller's, or one whose owner
        // waits until this thread marks it done.
        unsafe { self.run(kernels, &batch, pool) };
        for &other in &batch[1..] {
            // SAFETY: as above; after `Done` its owner returns and the
            // pointer is not used again.
            let other = unsafe { &*other };
            *other.state.lock() = JobState::Done;
            other.wake.notify_one();
        }
        batch.clear();
        // Hand the queue to the first waiting caller, or go idle.
        let mut queue = self.queue.lock();
        if queue.waiting.is_empty() {
            queue.busy = false;
        } else {
            let next = queue.waiting.remove(0);
            drop(queue);
            // SAFETY: its owner waits for this state change.
            let next = unsafe { &*next };
            *next.state.lock() = JobState::Lead;
            next.wake.notify_one();
        }
    }

    /// Runs `batch` as one product (or directly, for one job).
    ///
    /// # Safety
    /// Every job's pointers are valid, and nobody else touches its `y`.
    unsafe fn run(&self, kernels: &Kernels, batch: &[*const Job], pool: Option<&ThreadPool>) {
        record(batch.len());
        ACTIVATIONS.with_borrow_mut(|acts| {
            if let [only] = batch {
                // SAFETY: the caller's contract.
                let job = unsafe { &**only };
                let (x, y) = unsafe {
                    (
                        std::slice::from_raw_parts(job.x, job.x_len),
                        std::slice::from_raw_parts_mut(job.y, job.y_len),
                    )
                };
                self.matrix.matmul(kernels, x, y, acts, pool);
                return;
            }
            STAGING.with_borrow_mut(|(xs, ys)| {
                xs.clear();
                let mut y_len = 0;
                for &job in batch {
                    // SAFETY: the caller's contract.
                    let job = unsafe { &*job };
                    xs.extend_from_slice(unsafe { std::slice::from_raw_parts(job.x, job.x_len) });
                    y_len += job.y_len;
                }
                ys.clear();
                ys.resize(y_len, 0.0);
                self.matrix.matmul(kernels, xs, ys, acts, pool);
                let mut at = 0;
                for &job in batch {
                    // SAFETY: the caller's contract.
                    let job = unsafe { &*job };
                    let y = unsafe { std::slice::from_raw_parts_mut(job.y, job.y_len) };
                    y.copy_from_slice(&ys[at..at + job.y_len]);
                    at += job.y_len;
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hark_kernels::QuantFormat;
    use std::sync::{Arc, Barrier};

    #[test]
    fn concurrent_products_batch_and_give_each_caller_its_own_exact_rows() {
        let (rows, cols) = (64, 96);
        let weights: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let shared = Arc::new(SharedMatrix::new(QuantMatrix::from_f32(
            &weights,
            rows,
            cols,
            QuantFormat::Q8_0,
        )));
        let kernels = Kernels::best().0;
        let input = |caller: usize, n: usize| -> Vec<f32> {
            (0..n * cols)
                .map(|i| (((i + caller * 7) * 13 % 29) as f32 - 14.0) / 14.0)
                .collect()
        };
        // What each caller gets alone.
        let alone: Vec<Vec<f32>> = (0..16)
            .map(|c| {
                let x = input(c, 1 + c % 5);
                let mut y = vec![0.0; (1 + c % 5) * rows];
                shared
                    .matrix
                    .matmul(&kernels, &x, &mut y, &mut Activations::new(), None);
                y
            })
            .collect();
        let (before, _) = batch_stats();
        let barrier = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|c| {
                let (shared, barrier) = (shared.clone(), barrier.clone());
                let x = input(c, 1 + c % 5);
                std::thread::spawn(move || {
                    let mut y = vec![0.0; (1 + c % 5) * rows];
                    barrier.wait();
                    for _ in 0..200 {
                        shared.matmul(&Kernels::best().0, &x, &mut y, None);
                    }
                    y
                })
            })
            .collect();
        for (c, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), alone[c], "caller {c}");
        }
        // Whether these callers met depends on the scheduler (on one
        // core, each product may finish within its time slice); the next
        // test makes them meet.
        let (after, _) = batch_stats();
        assert!(after.iter().sum::<u64>() > before.iter().sum::<u64>());
    }

    /// Callers that arrive while a product runs wait, and the first of
    /// them runs them all as one batch, each getting its own rows: made
    /// to happen here by holding the queue busy as a running product
    /// would, whatever the number of cores.
    #[test]
    fn callers_waiting_on_a_running_product_run_as_one_batch() {
        let (rows, cols) = (32, 64);
        let weights: Vec<f32> = (0..rows * cols).map(|i| (i % 17) as f32 / 17.0).collect();
        let shared = Arc::new(SharedMatrix::new(QuantMatrix::from_f32(
            &weights,
            rows,
            cols,
            QuantFormat::Q8_0,
        )));
        let input = |c: usize| -> Vec<f32> { (0..cols).map(|i| ((i + c) % 7) as f32).collect() };
        let alone: Vec<Vec<f32>> = (0..16)
            .map(|c| {
                let mut y = vec![0.0; rows];
                shared.matrix.matmul(
                    &Kernels::best().0,
                    &input(c),
                    &mut y,
                    &mut Activations::new(),
                    None,
                );
                y
            })
            .collect();
        let (before, _) = batch_stats();
        shared.queue.lock().busy = true; // a product is running
        let threads: Vec<_> = (0..16)
            .map(|c| {
                let shared = shared.clone();
                let x = input(c);
                std::thread::spawn(move || {
                    let mut y = vec![0.0; rows];
                    shared.matmul(&Kernels::best().0, &x, &mut y, None);
                    y
                })
            })
            .collect();
        while shared.queue.lock().waiting.len() < 16 {
            std::thread::yield_now();
        }
        // The running product ends: it hands the queue to the first caller.
        let first = shared.queue.lock().waiting.remove(0);
        // SAFETY: its owner waits for this state change.
        let first = unsafe { &*first };
        *first.state.lock() = JobState::Lead;
        first.wake.notify_one();
        for (c, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), alone[c], "caller {c}");
        }
        let (after, _) = batch_stats();
        // One batch of 16 (bucket `<= 16`).
        assert!(after[4] > before[4], "{before:?} -> {after:?}");
        assert!(!shared.queue.lock().busy);
    }
}
